"""The public surface: the names labkit exports, and that importing it stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import labkit
from labkit import check, doctor, report, results, runner, widgets

# A test like httpx's test_exported_members: adding a public name is a decision.
FOUNDATION_NAMES = {"check", "doctor", "record", "report", "results", "runner", "widgets"}


def test_labkit_exports_the_foundation_names() -> None:
    assert set(labkit.__all__) >= FOUNDATION_NAMES
    assert labkit.__all__ == ["__version__", *sorted(set(labkit.__all__) - {"__version__"})]
    for name in labkit.__all__:
        assert getattr(labkit, name) is not None, name
    assert labkit.record is results.record


def test_module_surfaces() -> None:
    assert set(results.__all__) == {
        "CHECK_MIME",
        "RESULT_MIME",
        "CheckResult",
        "NotebookError",
        "NotebookResults",
        "jsonable",
        "read",
        "record",
    }
    assert set(check.__all__) == {
        "CheckResult",
        "checkpoint",
        "evaluate",
        "exercise",
        "run",
        "show",
        "that",
    }
    assert set(runner.__all__) == {
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
    }
    assert set(report.__all__) == {
        "CohortReport",
        "ReportError",
        "build",
        "load_run",
        "notebook_figures",
        "render",
        "write",
        "write_report",
    }
    assert set(doctor.__all__) == {"STAGES", "DoctorReport", "Row", "diagnose", "normalise_stage"}
    assert set(widgets.__all__) == {"StatusPanel", "status_panel"}
    for module in (results, check, runner, report, doctor, widgets):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_doctor_module_is_callable() -> None:
    assert callable(doctor) and callable(labkit.doctor)


def test_import_labkit_loads_no_heavy_modules() -> None:
    code = "import sys, json, labkit; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", code], text=True)))
    assert not loaded & {"pandas", "papermill", "matplotlib", "numpy", "IPython", "ipywidgets", "jinja2"}
