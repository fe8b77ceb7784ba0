"""``labkit run``: execute notebooks with papermill and collect what they recorded.

Each notebook gets a fresh kernel process started in the notebook's own folder (so
relative paths in a notebook mean the same as in JupyterLab). The runner itself stays
in one process: starting a Python interpreter and importing papermill per notebook
would cost more than the whole 2 s overhead budget. A watchdog thread enforces the
per-notebook timeout by killing the kernel's process group; nbclient then sees a
dead kernel, papermill still writes the partial notebook, and the next notebook runs.

``results.json`` is rewritten after every notebook, so even a runner that is itself
killed leaves the results of the notebooks that finished.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from labkit.config import Settings, load_settings
from labkit.needs import Availability, NeedError, Needs, declared_needs
from labkit.results import NotebookError, read

__all__ = [
    "NotebookRun",
    "NotebookSpec",
    "RunResult",
    "discover",
    "kernel_env",
    "new_run_id",
    "parse_parameter",
    "prepare_backends",
    "quiet_papermill",
    "run_notebooks",
]

Status = Literal["ok", "failed", "timeout", "skipped"]

_NUMBERED = re.compile(r"^(\d+)[-_]")
DEFAULT_TIMEOUT_S = 600.0


class RunError(ValueError):
    """Bad input to the runner (no notebooks, unknown stage, used output dir)."""


@dataclass(frozen=True)
class NotebookSpec:
    """A notebook to run: its file and its stable name in results (``01-docker/intro.ipynb``)."""

    source: Path
    path: str

    @property
    def stage(self) -> str | None:
        first = self.path.split("/")[0]
        return first if "/" in self.path else None


@dataclass
class NotebookRun:
    path: str
    status: Status
    duration_s: float
    error: NotebookError | None
    results: dict[str, Any]
    checks: list[dict[str, Any]]
    reason: str | None = None  # skipped: "needs docker: <what is missing>"
    fix: str | None = None  # skipped: what the learner does about it

    @property
    def ok(self) -> bool:
        """Ran to the end with every check passing, or skipped for a missing need (see RunResult.strict)."""
        if self.status == "skipped":
            return True
        return self.status == "ok" and all(c["passed"] for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "path": self.path,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "error": self.error.to_dict() if self.error else None,
            "results": self.results,
            "checks": self.checks,
        }
        if self.status == "skipped":
            data["reason"] = self.reason
            data["fix"] = self.fix
        return data


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    started: str
    finished: str | None
    backend: str
    notebooks: list[NotebookRun] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # backend preparation notes, report warnings
    strict: bool = False  # a skipped notebook fails the run (CI)
    learner: str | None = None

    @property
    def skipped(self) -> list[NotebookRun]:
        return [nb for nb in self.notebooks if nb.status == "skipped"]

    @property
    def ok(self) -> bool:
        """Every notebook ran to the end with every check passing, or was skipped for a missing
        need; under ``strict`` a skipped notebook fails the run."""
        if self.strict and self.skipped:
            return False
        return all(nb.ok for nb in self.notebooks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def report_path(self) -> Path:
        return self.run_dir / "report.html"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started,
            "finished": self.finished,
            "backend": self.backend,
            "learner": self.learner,
            "strict": self.strict,
            "notebooks": [nb.to_dict() for nb in self.notebooks],
        }


def prepare_backends(settings: Settings) -> list[str]:
    """Make the configured backends available before the first notebook runs.

    Starts the embedded server (LGTM + the local Messages API) in the background when
    the settings call for it and it is not running, so that telemetry written by one
    notebook's kernel is queryable from the next. It keeps running after the run, for
    the learner to explore; `labkit stack down` stops it. Returns messages to print.
    """
    from labkit.lgtm.process import ensure_up

    message = ensure_up(settings)
    return [message] if message else []


def kernel_env(settings: Settings, cwd: Path | None = None) -> dict[str, str]:
    """Variables every notebook kernel needs so that all kernels share one configuration.

    Kernels start in their notebook's folder, so a relative data dir (the default
    ``.labkit``) would mean a different folder per notebook; pin it to an absolute path.
    The config file is pinned too, in case a notebook folder is not below it.
    """
    from labkit.config import find_config_file

    base = (cwd or Path.cwd()).resolve()
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else base / settings.data_dir
    env = {"LABKIT_DATA_DIR": str(data_dir)}
    config = find_config_file(base)
    if config is not None:
        env["LABKIT_CONFIG"] = str(config.resolve())
    return env


def new_run_id(now: datetime | None = None) -> str:
    """``20261126-051500-ab12``: sortable by time, unique across learners starting together."""
    now = now or datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def parse_parameter(value: str) -> Any:
    """A ``-p`` value: JSON when it parses (numbers, true, null, lists), else the raw string."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _order_key(path: str) -> tuple[tuple[int, str], ...]:
    # Numbered folders sort by number (so 10-x follows 09-y), others after them by name.
    key = []
    for part in path.split("/"):
        match = _NUMBERED.match(part)
        key.append((int(match.group(1)) if match else 1 << 30, part))
    return tuple(key)


def _skip_dir(path: Path) -> bool:
    # Hidden folders (.ipynb_checkpoints, .venv) and earlier run folders are not curriculum.
    return path.name.startswith(".") or (path / "results.json").is_file()


def _walk(root: Path) -> Iterable[Path]:
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            if not _skip_dir(entry):
                yield from _walk(entry)
        elif entry.suffix == ".ipynb" and not entry.name.startswith("."):
            yield entry


def _name_for(source: Path, base: Path | None) -> str:
    # Names are relative to the nearest `notebooks/` folder, so one notebook has the same
    # name whether the whole workbook or just its folder was run (the report lines them up).
    resolved = source.resolve()
    for parent in resolved.parents:
        if parent.name == "notebooks":
            return resolved.relative_to(parent).as_posix()
    if base is not None:
        return resolved.relative_to(base.resolve()).as_posix()
    if _NUMBERED.match(resolved.parent.name):
        return f"{resolved.parent.name}/{resolved.name}"
    return resolved.name


def _stage_matches(spec: NotebookSpec, stage: str) -> bool:
    folder = spec.stage
    if folder is None:
        return False
    match = _NUMBERED.match(folder)
    bare = folder[match.end() :] if match else folder
    if stage in (folder, bare):
        return True
    return bool(match and stage.isdigit() and int(stage) == int(match.group(1)))


def discover(paths: Sequence[str | Path] = (), stage: str | None = None) -> list[NotebookSpec]:
    """The notebooks under ``paths`` (files or folders; default ``notebooks/``) in curriculum order."""
    if not paths:
        default = Path("notebooks")
        if not default.is_dir():
            raise RunError(
                "no PATHS given and there is no notebooks/ folder here; pass notebook files or folders"
            )
        paths = [default]
    specs: dict[str, NotebookSpec] = {}
    for raw in paths:
        path = Path(raw)
        found: list[tuple[Path, Path | None]]
        if path.is_dir():
            found = [(nb, path) for nb in _walk(path)]
        elif path.is_file():
            if path.suffix != ".ipynb":
                raise RunError(f"{path} is not a notebook (.ipynb)")
            found = [(path, None)]
        else:
            raise RunError(f"{path} does not exist")
        for source, base in found:
            spec = NotebookSpec(source, _name_for(source, base))
            other = specs.get(spec.path)
            if other is not None and other.source.resolve() != source.resolve():
                raise RunError(f"two notebooks would both be named {spec.path}: {other.source} and {source}")
            specs[spec.path] = spec
    ordered = sorted(specs.values(), key=lambda s: _order_key(s.path))
    if stage is not None:
        selected = [s for s in ordered if _stage_matches(s, stage)]
        if not selected:
            stages = sorted({s.stage for s in ordered if s.stage}, key=lambda p: _order_key(p))
            raise RunError(f"no notebooks for stage {stage!r}; stages here: {', '.join(stages) or 'none'}")
        ordered = selected
    if not ordered:
        raise RunError(f"no notebooks found under {', '.join(str(p) for p in paths)}")
    return ordered


def _kernel_name(source: Path) -> str | None:
    try:
        meta = json.loads(source.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, json.JSONDecodeError):
        return None  # papermill reports the unreadable notebook itself
    name = meta.get("kernelspec", {}).get("name")
    return None if name else "python3"


class _Watchdog:
    """Kills the kernel of one notebook when its time is up."""

    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self.fired = threading.Event()
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def kernel_started(self, pid: int | None) -> None:
        with self._lock:
            self._pid = pid
            late = self.fired.is_set()
        if late:
            self._kill()

    def start(self) -> None:
        if self.timeout_s:
            self._timer = threading.Timer(self.timeout_s, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        self.fired.set()
        self._kill()

    def _kill(self) -> None:
        with self._lock:
            pid = self._pid
        if pid is None:
            return
        # jupyter_client starts kernels in their own session, so the group is the kernel
        # plus anything the notebook spawned; kill them all.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _kernel_manager_class(watchdog: _Watchdog, log: IO[bytes] | None, env: Mapping[str, str]) -> type:
    from jupyter_client.manager import AsyncKernelManager

    class WatchedKernelManager(AsyncKernelManager):  # type: ignore[misc]
        async def _async_start_kernel(self, **kw: Any) -> None:
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            if log is not None:
                # Kernel chatter (ipykernel's own warnings) goes to the run's kernels.log,
                # not into the learner's terminal under the progress bar.
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
            await super()._async_start_kernel(**kw)
            watchdog.kernel_started(getattr(self.provisioner, "pid", None))

        start_kernel = _async_start_kernel

    return WatchedKernelManager


def _running_cell(executed: Path) -> int | None:
    """Source index of the cell that was running when the kernel was killed."""
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return None
    last = None
    own = -1
    for cell in cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"injected-parameters", "papermill-error-cell-tag"}:
            continue
        own += 1
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            last = own
    return last


def _execute(
    spec: NotebookSpec,
    output: Path,
    parameters: Mapping[str, Any],
    timeout_s: float | None,
    log: IO[bytes] | None = None,
    env: Mapping[str, str] | None = None,
) -> NotebookRun:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    watchdog = _Watchdog(timeout_s)
    error: NotebookError | None = None
    status: Status = "ok"
    started = time.perf_counter()
    watchdog.start()
    try:
        pm.execute_notebook(
            str(spec.source),
            str(output),
            parameters=dict(parameters),
            cwd=str(spec.source.parent),
            kernel_name=_kernel_name(spec.source),
            progress_bar=False,
            log_output=False,
            kernel_manager_class=_kernel_manager_class(watchdog, log, env or {}),
            # Every output has arrived when the last cell finishes; a graceful shutdown
            # only adds waiting to each notebook.
            shutdown_kernel="immediate",
        )
    except PapermillExecutionError as exc:
        status = "failed"
        error = NotebookError(exc.ename, exc.evalue, None)
    except Exception as exc:  # one broken notebook never stops the run
        if watchdog.fired.is_set():
            status = "timeout"
            error = NotebookError(
                "Timeout", f"notebook exceeded {timeout_s:g} s; kernel killed", _running_cell(output)
            )
        else:
            status = "failed"
            error = NotebookError(type(exc).__name__, str(exc), None)
    finally:
        watchdog.cancel()
    duration = time.perf_counter() - started

    results: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    if output.is_file():
        try:
            recorded = read(output)
        except (OSError, ValueError) as exc:
            if error is None:
                status, error = "failed", NotebookError(type(exc).__name__, str(exc), None)
        else:
            results = recorded.results
            checks = [c.to_dict() for c in recorded.checks]
            if status == "failed" and recorded.error is not None:
                error = recorded.error  # carries the failing cell's index in source order
    return NotebookRun(spec.path, status, duration, error, results, checks)


@contextlib.contextmanager
def quiet_papermill() -> Iterator[None]:
    """Silence papermill's own logging while notebooks run, restoring its level afterwards.

    papermill warns for every notebook without a parameters cell and nbclient logs a killed
    kernel as an error; the run's own results already say what happened to each notebook.
    """
    logger = logging.getLogger("papermill")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_results(result: RunResult) -> None:
    path = result.run_dir / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a file


def _prepare_run_dir(output_dir: Path | None, run_id: str) -> Path:
    run_dir = output_dir if output_dir is not None else Path("runs") / run_id
    if (run_dir / "results.json").exists():
        raise RunError(f"{run_dir} already holds a run (results.json); choose another --output-dir")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"--output-dir {run_dir} exists and is not a folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


ProgressCallback = Callable[[str, NotebookSpec, NotebookRun | None], None]


def _skipped(spec: NotebookSpec, missing: list[Availability]) -> NotebookRun:
    names = ", ".join(a.need for a in missing)
    reason = f"needs {names}: " + "; ".join(a.detail for a in missing)
    fix = "; ".join(dict.fromkeys(a.fix for a in missing if a.fix)) or None
    return NotebookRun(spec.path, "skipped", 0.0, None, {}, [], reason=reason, fix=fix)


def run_notebooks(
    paths: Sequence[str | Path] = (),
    *,
    stage: str | None = None,
    output_dir: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    settings: Settings | None = None,
    on_progress: ProgressCallback | None = None,
    write_report: bool = True,
    strict: bool = False,
    needs: Needs | None = None,
) -> RunResult:
    """Run notebooks in curriculum order; see the module docstring. Never raises for a failing notebook.

    A notebook whose ``metadata.labkit.requires`` names something this machine lacks
    (``labkit.needs``) is not executed: it is reported ``skipped`` with the reason and
    the fix, and the run still succeeds unless ``strict``.

    ``on_progress(event, spec, run)`` is called with ``"start"`` (run is None) and
    ``"done"`` for each notebook. Raises RunError for bad input (nothing to run,
    unknown stage, a used output folder, malformed needs) before anything executes.
    """
    if timeout_s is not None and timeout_s <= 0:
        raise RunError(f"timeout must be > 0 seconds, got {timeout_s}")
    settings = settings or load_settings()
    specs = discover(paths, stage)
    try:
        declared = {spec.path: declared_needs(spec.source) for spec in specs}
    except NeedError as exc:
        raise RunError(str(exc)) from None
    needs = needs or Needs(settings)
    run_id = new_run_id()
    run_dir = _prepare_run_dir(Path(output_dir) if output_dir is not None else None, run_id)
    result = RunResult(
        run_id, run_dir, _now(), None, settings.backend.value, strict=strict, learner=settings.learner
    )
    result.messages.extend(prepare_backends(settings))
    env = kernel_env(settings)
    _write_results(result)

    with quiet_papermill(), open(run_dir / "kernels.log", "ab") as log:
        for spec in specs:
            if on_progress:
                on_progress("start", spec, None)
            missing = needs.missing(declared[spec.path])
            if missing:
                run = _skipped(spec, missing)
            else:
                log.write(f"== {spec.path}\n".encode())
                log.flush()
                run = _execute(spec, run_dir / spec.path, parameters or {}, timeout_s, log, env)
            result.notebooks.append(run)
            _write_results(result)
            if on_progress:
                on_progress("done", spec, run)
    result.finished = _now()
    _write_results(result)

    if write_report:
        from labkit.report import write_report as _write_report

        try:
            _write_report([run_dir], result.report_path)
        except Exception as exc:  # the results are what matter; a report can be rebuilt
            result.messages.append(f"report not written: {type(exc).__name__}: {exc}")
    return result
