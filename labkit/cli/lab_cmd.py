"""``labkit lab``: JupyterLab on the workbook's notebooks with the configured environment."""

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
) -> None:
    """Start JupyterLab on notebooks/ with the configured labkit environment.

    Arguments after the options are passed to JupyterLab unchanged.
    """
    from labkit.config import ConfigError, load_settings
    from labkit.runner import kernel_env

    console = Console()
    try:
        settings = load_settings()
        notebooks = find_notebooks_dir()
    except (ConfigError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    argv, env = build_lab_command(notebooks, kernel_env(settings), port, browser, list(ctx.args))
    console.print(f"JupyterLab on {notebooks} (backend {settings.backend.value})")
    exec_fn(argv[0], argv, env)
