"""Verifiers for reading the configuration: the truth is the effective settings and the
services answering right now, looked up when the check runs."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["port_answers", "port_probe_agrees", "same_folder_as", "setting_source_is"]

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


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def port_probe_agrees(*url_settings: str) -> Verify:
    """The answer, ``port_is_open(url) -> bool``, agrees with a real TCP connect on: a port this
    check listens on, a port where nothing listens, and every configured ``url_settings``."""

    def verify(answer: Any) -> tuple[bool, str]:
        from labkit.config import load_settings

        if not callable(answer):
            raise AssertionError(f"the answer must be a function url -> bool, got {type(answer).__name__}")
        settings = load_settings()
        with socket.socket() as listening, socket.socket() as closed:
            listening.bind(("127.0.0.1", 0))
            listening.listen(1)
            closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
            cases = {
                f"http://127.0.0.1:{listening.getsockname()[1]}/": True,
                f"http://127.0.0.1:{closed.getsockname()[1]}/": False,
            }
            for name in url_settings:
                url = str(getattr(settings, name))
                parts = urlsplit(url)
                cases[url] = _accepts(parts.hostname or "127.0.0.1", parts.port or 80)
            wrong = []
            for url, truth in cases.items():
                said = answer(url)
                if not isinstance(said, bool):
                    kind = type(said).__name__
                    raise AssertionError(f"port_is_open({url!r}) returned {kind}, expected bool")
                if said != truth:
                    wrong.append(f"{url} -> {said}, but it is {'open' if truth else 'closed'}")
        if wrong:
            return False, "; ".join(wrong)
        return True, f"right on all {len(cases)} ports ({sum(cases.values())} open)"

    return verify
