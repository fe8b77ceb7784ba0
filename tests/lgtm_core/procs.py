"""Start the embedded server / the labkit CLI as real subprocesses with a private data dir and ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import free_port

# Every endpoint the server binds, as the LABKIT_* variable that sets it.
PORT_ENV = {name: "LABKIT_" + field.upper() for name, field in PORT_SETTINGS.items()}


def stack_env(data_dir: Path, ports: dict[str, int] | None = None) -> dict[str, str]:
    ports = ports or {name: free_port() for name in PORT_ENV}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    env["LABKIT_DATA_DIR"] = str(data_dir)
    env["LABKIT_BACKEND"] = "embedded"
    for name, var in PORT_ENV.items():
        env[var] = f"http://127.0.0.1:{ports[name]}" + ("/prometheus" if name == "mimir" else "")
    return env


def otlp_url(env: dict[str, str]) -> str:
    return env["LABKIT_OTLP_HTTP_ENDPOINT"]


def get_status(env: dict[str, str]) -> dict | None:
    try:
        with urllib.request.urlopen(otlp_url(env) + "/labkit/status", timeout=1) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def spawn_server(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit.lgtm"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if get_status(env) is not None:
            return proc
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}: {out}")
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError("server did not become ready")


def labkit(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("labkit")), *args],
        env={**env, "COLUMNS": "200", "NO_COLOR": "1"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
