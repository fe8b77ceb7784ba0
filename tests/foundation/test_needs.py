"""Notebook needs (metadata.labkit.requires): probing, skipping with the fix, --strict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from labkit._probes import CommandResult, Probes
from labkit.config import load_settings
from labkit.needs import (
    Availability,
    NeedError,
    Needs,
    declared_needs,
    probe_api_key,
    probe_kubernetes,
)
from labkit.report import write_report
from labkit.runner import RunError, run_notebooks

from .conftest import LABKIT, clean_env, load_results

GOOD = Path(__file__).parent / "notebooks" / "01-good" / "good.ipynb"


def _notebook(folder: Path, name: str, requires: object) -> Path:
    nb = json.loads(GOOD.read_text(encoding="utf-8"))
    nb["metadata"]["labkit"] = {"requires": requires}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _settings(tmp_path: Path, **overrides: object):
    return load_settings(
        environ={}, cwd=tmp_path, data_dir=str(tmp_path / "data"), backend="live", **overrides
    )


def test_declared_needs_reads_metadata_and_rejects_bad_values(tmp_path: Path) -> None:
    assert declared_needs(_notebook(tmp_path, "a.ipynb", ["docker", "docker", "api_key"])) == [
        "docker",
        "api_key",
    ]
    assert declared_needs(GOOD) == []
    bad = _notebook(tmp_path, "b.ipynb", ["docker", "gpu"])
    with pytest.raises(NeedError, match=r"b\.ipynb.*unknown need\(s\) \['gpu'\]"):
        declared_needs(bad)
    with pytest.raises(NeedError, match=r"c\.ipynb.*must be a list of strings"):
        declared_needs(_notebook(tmp_path, "c.ipynb", "docker"))


def test_needs_probe_each_need_once(tmp_path: Path) -> None:
    calls: list[str] = []

    def docker(_settings: object) -> Availability:
        calls.append("docker")
        return Availability("docker", False, "no engine", "start Docker")

    needs = Needs(_settings(tmp_path), {"docker": docker})
    assert [a.need for a in needs.missing(["docker", "docker"])] == ["docker", "docker"]
    needs.missing(["docker"])
    assert calls == ["docker"]


def test_a_probe_that_raises_means_missing(tmp_path: Path) -> None:
    def broken(_settings: object) -> Availability:
        raise RuntimeError("boom")

    (missing,) = Needs(_settings(tmp_path), {"kubernetes": broken}).missing(["kubernetes"])
    assert not missing.ok and "RuntimeError: boom" in missing.detail


def test_kubernetes_probe_uses_kubectl_with_the_context(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def run(argv: list[str], timeout: float) -> CommandResult | None:
        seen.append(list(argv))
        return CommandResult(
            0, "\x1b[0;32mKubernetes control plane\x1b[0m is running at https://127.0.0.1:6443\n", ""
        )

    ok = probe_kubernetes(_settings(tmp_path), Probes(run=run))
    assert ok.ok and ok.detail.startswith("Kubernetes control plane is running")
    assert Path(seen[0][0]).name == "kubectl" and seen[0][1] == "cluster-info"
    assert any("timeout" in a for a in seen[0])

    def refused(argv: list[str], timeout: float) -> CommandResult | None:
        return CommandResult(1, "", "The connection to the server localhost:8080 was refused\n")

    down = probe_kubernetes(_settings(tmp_path), Probes(run=refused))
    assert not down.ok and "refused" in down.detail and "re-run" in down.fix


def test_api_key_probe(tmp_path: Path) -> None:
    assert not probe_api_key(_settings(tmp_path)).ok
    key = "sk-" + "test-" + "x" * 12  # built at run time: nothing committed looks like a key
    have = probe_api_key(_settings(tmp_path, anthropic_api_key=key))
    assert have.ok and key not in have.detail


def test_missing_need_skips_with_the_fix_and_strict_fails(tmp_path: Path) -> None:
    notebooks = tmp_path / "notebooks"
    _notebook(notebooks / "01-docker", "docker.ipynb", ["docker"])
    _notebook(notebooks / "02-plain", "plain.ipynb", [])
    gone = Availability("docker", False, "no Docker engine answers", "start Docker Desktop, then re-run")
    settings = _settings(tmp_path, learner="ada")

    for strict, code in ((False, 0), (True, 1)):
        needs = Needs(settings, {"docker": lambda _s: gone})
        out = tmp_path / f"run-{strict}"
        result = run_notebooks([notebooks], output_dir=out, settings=settings, strict=strict, needs=needs)
        assert result.exit_code == code
        data = load_results(out)
        assert data["learner"] == "ada" and data["strict"] is strict
        skipped, plain = data["notebooks"]
        assert skipped["status"] == "skipped" and skipped["checks"] == []
        assert skipped["reason"] == "needs docker: no Docker engine answers"
        assert skipped["fix"] == "start Docker Desktop, then re-run"
        assert plain["status"] == "ok" and "reason" not in plain
        assert not (out / skipped["path"]).exists()  # never executed
        html = (out / "report.html").read_text(encoding="utf-8")
        assert "Skipped notebooks" in html and "start Docker Desktop, then re-run" in html


def test_present_need_runs_the_notebook(tmp_path: Path) -> None:
    _notebook(tmp_path / "nb", "docker.ipynb", ["docker"])
    here = Availability("docker", True, "engine 27")
    settings = _settings(tmp_path)
    result = run_notebooks(
        [tmp_path / "nb"],
        output_dir=tmp_path / "run",
        settings=settings,
        strict=True,
        needs=Needs(settings, {"docker": lambda _s: here}),
        write_report=False,
    )
    assert [nb.status for nb in result.notebooks] == ["ok"] and result.exit_code == 0


def test_bad_needs_metadata_is_a_run_error_before_anything_runs(tmp_path: Path) -> None:
    _notebook(tmp_path / "nb", "odd.ipynb", ["quantum"])
    with pytest.raises(RunError, match=r"odd\.ipynb.*quantum"):
        run_notebooks([tmp_path / "nb"], output_dir=tmp_path / "run", settings=_settings(tmp_path))
    assert not (tmp_path / "run").exists()


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # backend=live: nothing to start, so the test measures the skip, not a server's startup.
    env = clean_env(tmp_path) | {"LABKIT_BACKEND": "live"}
    return subprocess.run(
        [*LABKIT, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_cli_reports_skipped_distinctly_and_strict_exits_1(tmp_path: Path) -> None:
    # isolated_environ drops every API key, so the real probe finds none.
    _notebook(tmp_path / "nb", "needs-key.ipynb", ["api_key"])
    relaxed = _cli(tmp_path, "run", "nb", "--output-dir", "r1")
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "skipped: needs api_key" in relaxed.stdout
    assert "fix: export ANTHROPIC_API_KEY=" in relaxed.stdout
    strict = _cli(tmp_path, "run", "nb", "--output-dir", "r2", "--strict")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "fails the run (--strict)" in strict.stdout


def test_cohort_report_shows_skipped_cells(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(
        json.dumps(
            {
                "run_id": "r1",
                "notebooks": [
                    {
                        "path": "01-docker/01-docker.ipynb",
                        "status": "skipped",
                        "reason": "needs docker: x",
                        "fix": "f",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    html = write_report([run], tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'class="skipped"' in html and "needs docker" in html
