"""An interrupted workflow resumes from its checkpoint without duplicate progress entries.

The workflow runs in a subprocess (``labkit workflow run``) and is SIGKILLed while
``review_code`` runs (the submission waits on a flag file the test removes), then the
same run id is resumed here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from labkit.agents.learning_cycle import run_cycle
from labkit.agents.learning_cycle.catalogue import REFERENCE_SOLUTIONS


def test_killed_mid_run_resumes_without_duplicates(tmp_path: Path, llm_server: Any, make_graph: Any) -> None:
    flag = tmp_path / "hold"
    flag.write_text("hold", encoding="utf-8")
    # Imported by the critic's tests specialist: it blocks while the flag exists.
    slow = (
        f"import os\nimport time\n\nwhile os.path.exists({str(flag)!r}):\n    time.sleep(0.1)\n\n"
        + REFERENCE_SOLUTIONS["fizzbuzz"]
    )
    submission = tmp_path / "fizzbuzz.py"
    submission.write_text(slow, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "OTEL_", "ANTHROPIC_"))}
    env.update(
        LABKIT_DATA_DIR=str(tmp_path / "data"),
        LABKIT_LLM_URL=llm_server.url,
        LABKIT_BACKEND="embedded",
    )
    cmd = [
        sys.executable,
        "-c",
        "from labkit.cli import main; main()",
        "workflow",
        "run",
        "--learner",
        "ada",
        "--run-id",
        "run-1",
        "--submission",
        str(submission),
    ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line) == {"node": "generate_assignment", "done": True}, line + proc.stderr.read()
        time.sleep(1.0)  # review_code is now running and blocked on the flag
        assert proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the workflow and the critic's test subprocess with it
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    flag.unlink()

    graph = make_graph()
    assert graph.labkit_deps.store.entries() == []  # killed before update_progress
    seen: list[str] = []
    result = run_cycle("ada", run_id="run-1", graph=graph, on_node=lambda n, _u: seen.append(n))
    assert result.resumed
    assert seen == ["review_code", "update_progress"]  # generate_assignment is not run again
    assert result.passed
    [entry] = graph.labkit_deps.store.entries()
    assert entry.run_id == "run-1"
    # Resuming a finished run (or a second resume) adds nothing.
    run_cycle("ada", run_id="run-1", graph=graph)
    assert len(graph.labkit_deps.store.entries()) == 1


def test_repeated_update_progress_writes_one_row(tmp_path: Path) -> None:
    from labkit.agents.learning_cycle import ProgressStore

    store = ProgressStore(tmp_path / "p.sqlite")
    findings = [{"rule_id": "E1", "category": "style", "file": "a.py", "line_start": 3, "why": "x"}]
    first = store.record("r", "ada", title="t", module="m", score=5, passed=False, findings=findings)
    again = store.record("r", "ada", title="t", module="m", score=5, passed=False, findings=findings)
    assert first == again and len(store.entries()) == 1 and len(store.reviews("r")) == 1
