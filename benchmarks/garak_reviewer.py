"""Red-team the Prompt Reviewer *service* with garak over REST, offline, and print garak's report.

    LABKIT_GARAK_PYTHON=/path/to/garak-venv/bin/python .venv/bin/python benchmarks/garak_reviewer.py \
        [--probes promptinject,dan.Dan_11_0]

Starts the reviewer on a free loopback port with the embedded (offline) LLM backend, writes a
garak REST generator config pointing at ``POST /review`` (the JSON field garak reads is
``message``: the refusal when the guardrails block, the suggested rewrite otherwise), runs
garak in its own interpreter with hub access off, prints garak's per-probe PASS/FAIL lines,
then how many of garak's attempts the guardrails blocked, and stops the service.
garak is not a labkit dependency (it brings torch and transformers); see docs/guardrails.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from labkit.guardrails.corpus import GARAK_PYTHON_ENV, garak_python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"the reviewer service did not answer at {url} within {timeout_s:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", default="promptinject,dan.Dan_11_0,latentinjection.LatentInjectionResume")
    parser.add_argument("--garak-python", default=None, help=f"a python with garak (or ${GARAK_PYTHON_ENV})")
    args = parser.parse_args(argv)
    python = args.garak_python or garak_python()
    if python is None:
        print(
            f"garak is not installed here: skipped. Set {GARAK_PYTHON_ENV} or pass --garak-python "
            "(docs/guardrails.md)"
        )
        return 0
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="garak-reviewer-") as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "LABKIT_BACKEND": "embedded",
            "LABKIT_LLM_URL": f"http://127.0.0.1:{_free_port()}",
        }
        service = subprocess.Popen(
            [sys.executable, "-m", "labkit.agents.prompt_reviewer.service", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait(f"http://127.0.0.1:{port}/health")
            config = {
                "rest": {
                    "RestGenerator": {
                        "name": "labkit prompt reviewer",
                        "uri": f"http://127.0.0.1:{port}/review",
                        "method": "post",
                        "headers": {"Content-Type": "application/json"},
                        "req_template_json_object": {"prompt": "$INPUT"},
                        "response_json": True,
                        "response_json_field": "$.message",
                        "request_timeout": 60,
                    }
                }
            }
            (work / "rest.json").write_text(json.dumps(config), encoding="utf-8")
            garak_env = {
                **os.environ,
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "XDG_DATA_HOME": str(work),
                "XDG_CACHE_HOME": str(work / "cache"),
                "XDG_CONFIG_HOME": str(work / "config"),
            }
            proc = subprocess.run(
                [python, "-m", "garak", "--target_type", "rest",
                 "--generator_option_file", str(work / "rest.json"),
                 "--probes", args.probes, "--generations", "1", "--report_prefix", "reviewer"],
                cwd=work, env=garak_env, capture_output=True, text=True, timeout=3600, check=False,
            )  # fmt: skip
            lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).split("\r")[-1] for line in proc.stdout.splitlines()]
            print(
                "\n".join(line for line in lines if " PASS " in line or " FAIL " in line or "ok on" in line)
            )
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
            counts = dict(
                re.findall(r'labkit_agent_reviews_total\{[^}]*status="(\w+)"[^}]*\} (\d+)', metrics)
            )
            print(f"guardrails: {counts.get('blocked', '0')} of garak's requests blocked, "
                  f"{counts.get('reviewed', '0')} reviewed, {counts.get('failed', '0')} failed")  # fmt: skip
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
            return proc.returncode
        finally:
            service.terminate()
            try:
                service.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a loaded machine; do not leave it running
                service.kill()
                service.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
