"""pyproject.toml and environment.yml must declare the same dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$")


def _normalise(requirement: str) -> tuple[str, str]:
    match = _NAME.match(requirement.strip())
    assert match, f"cannot parse requirement {requirement!r}"
    name, _extras, spec = match.groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra, items in project["optional-dependencies"].items():
        if extra == "all":
            continue
        reqs.extend(items)
    return dict(_normalise(r) for r in reqs)


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return dict(_normalise(r) for r in pip_section if not r.startswith("-e"))


def test_environment_mirrors_pyproject() -> None:
    pyproject = _pyproject_requirements()
    environment = _environment_requirements()
    missing = sorted(set(pyproject) - set(environment))
    extra = sorted(set(environment) - set(pyproject))
    different = sorted(n for n in set(pyproject) & set(environment) if pyproject[n] != environment[n])
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    assert not different, f"different bounds: {[(n, pyproject[n], environment[n]) for n in different]}"


def test_every_dependency_has_a_lower_bound() -> None:
    unbounded = [name for name, spec in _pyproject_requirements().items() if ">=" not in spec]
    assert not unbounded, f"pin a lower bound for: {unbounded}"


def test_environment_pins_python_311_and_installs_the_package() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_section


def test_license_is_an_spdx_string_setuptools_accepts() -> None:
    # A `license = { text = ... }` table is deprecated (setuptools warns, and stops accepting it
    # after 2027-02-18); PEP 639 SPDX strings need setuptools >= 77 as the build backend.
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    license_ = data["project"]["license"]
    assert isinstance(license_, str) and re.fullmatch(
        r"[A-Za-z0-9.\-+]+( (AND|OR|WITH) [A-Za-z0-9.\-+]+)*", license_
    )
    assert not any(c.startswith("License ::") for c in data["project"].get("classifiers", []))
    (backend,) = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    bound = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", backend)
    assert bound and int(bound.group(1)) >= 77, backend
