"""Verifiers for reading the configuration: the truth is the effective settings and the
services answering right now, looked up when the check runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["port_answers", "same_folder_as", "setting_source_is"]

Verify = Callable[[Any], tuple[bool, str]]


def setting_source_is(setting: str) -> Verify:
    """The answer is where ``setting`` comes from, as ``labkit config`` shows it ("env LABKIT_BACKEND")."""

    def verify(answer: Any) -> tuple[bool, str]:
        from labkit.config import load_settings_with_sources

        if not isinstance(answer, str):
            raise AssertionError(f"the answer must be a string like 'default', got {type(answer).__name__}")
        _, sources = load_settings_with_sources()
        truth = next(s.source for s in sources if s.name == setting)
        # A labkit.toml source names its path; the kind of source is the answer.
        ok = answer.strip() == truth or (truth.startswith("labkit.toml") and answer.strip() == "labkit.toml")
        return ok, f"you said {answer!r}; {setting} comes from {truth!r}"

    return verify


def same_folder_as(setting: str = "data_dir") -> Verify:
    """The answer is the folder ``setting`` points to (absolute, or relative to the notebook); it exists."""

    def verify(answer: Any) -> tuple[bool, str]:
        from labkit.config import load_settings
        from labkit.runner import kernel_env

        if not isinstance(answer, str | Path):
            raise AssertionError(f"the answer must be a path, got {type(answer).__name__}")
        settings = load_settings()
        truth = (
            Path(kernel_env(settings)["LABKIT_DATA_DIR"])
            if setting == "data_dir"
            else getattr(settings, setting)
        )
        given = Path(answer).expanduser().resolve()
        if given != Path(truth).resolve():
            return False, f"{given} is not where {setting} points"
        return given.is_dir(), f"{given} {'exists' if given.is_dir() else 'does not exist yet'}"

    return verify


def port_answers(url_setting: str, path: str = "/ready") -> Verify:
    """The answer is the port of ``url_setting``, and a service answers ``path`` on it now."""

    def verify(answer: Any) -> tuple[bool, str]:
        import httpx

        from labkit.config import load_settings

        if isinstance(answer, bool) or not isinstance(answer, int):
            raise AssertionError(f"the answer must be a port number (int), got {type(answer).__name__}")
        url = str(getattr(load_settings(), url_setting))
        parts = urlsplit(url)
        truth = parts.port or (443 if parts.scheme == "https" else 80)
        if answer != truth:
            return False, f"port {answer} is not the port of {url_setting} ({url})"
        probe = f"{parts.scheme}://{parts.hostname}:{answer}{path}"
        try:
            status = httpx.get(probe, timeout=5).status_code
        except httpx.HTTPError as exc:
            return False, f"nothing answers on {probe}: {type(exc).__name__}"
        return status == 200, f"{probe} answered HTTP {status}"

    return verify
