"""``labkit lab``: JupyterLab on the learner edition of the workbook, with the configured environment.

The learner edition (solutions replaced by stubs and hints) is generated under the data
dir the first time; notebooks already there are the learner's work and are kept.
``--solutions`` opens the committed solution edition instead (for authors).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["build_lab_command", "lab_command"]

ExecFn = Callable[[str, Sequence[str], Mapping[str, str]], object]


def find_notebooks_dir(start: Path | None = None) -> Path:
    """The ``notebooks/`` folder of the project containing ``start`` (walking up)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if folder.name == "notebooks" and folder.is_dir():
            return folder
        if (folder / "notebooks").is_dir():
            return folder / "notebooks"
    raise FileNotFoundError(f"no notebooks/ folder in {here} or above; run `labkit lab` inside the workbook")


def build_lab_command(
    notebooks: Path,
    env_overrides: Mapping[str, str],
    port: int | None = None,
    open_browser: bool = True,
    extra_args: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start JupyterLab on ``notebooks``."""
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebooks}"]
    if port is not None:
        argv.append(f"--ServerApp.port={port}")
    if not open_browser:
        argv.append("--no-browser")
    argv.extend(extra_args)
    env = dict(os.environ if environ is None else environ)
    env.update(env_overrides)  # LABKIT_* from the environment pass through untouched
    return argv, env


def _exec(path: str, argv: Sequence[str], env: Mapping[str, str]) -> object:
    os.execve(path, list(argv), dict(env))  # replaces this process: Ctrl-C goes to JupyterLab
    return None  # pragma: no cover


# Tests replace this to see the command without starting a server.
exec_fn: ExecFn = _exec


@app.command("lab", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def lab_command(
    ctx: typer.Context,
    port: int | None = typer.Option(None, "--port", help="Port for JupyterLab (default: its own choice)."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open a browser tab."),
    solutions: bool = typer.Option(
        False, "--solutions", help="Open the solution edition (notebooks/) instead of the learner edition."
    ),
) -> None:
    """Start JupyterLab on the learner edition of notebooks/ with the configured labkit environment.

    Arguments after the options are passed to JupyterLab unchanged.
    """
    from labkit.config import ConfigError, load_settings
    from labkit.exercises import MarkerError, build_learner_edition, default_output
    from labkit.runner import RunError, kernel_env

    console = Console()
    try:
        settings = load_settings()
        notebooks = find_notebooks_dir()
        root = notebooks
        if not solutions:
            edition = build_learner_edition([notebooks], default_output(settings), settings=settings)
            root = edition.output
            kept = f", kept your {len(edition.kept)} edited notebook(s)" if edition.kept else ""
            console.print(
                f"learner edition: {len(edition.written)} notebook(s) written{kept} "
                f"({sum(edition.exercises.values())} exercises)"
            )
    except (ConfigError, FileNotFoundError, MarkerError, RunError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    argv, env = build_lab_command(root, kernel_env(settings), port, browser, list(ctx.args))
    console.print(f"JupyterLab on {root} (backend {settings.backend.value})")
    exec_fn(argv[0], argv, env)
