"""The one HTTP seam of the query clients: timeouts, retries, and errors that say what to do.

Tests pass an ``httpx.MockTransport``; everything else goes over loopback (or a
configured URL) with the timeout and retry count from the settings.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from labkit.config import Settings, load_settings

__all__ = ["BackendUnavailable", "HTTPClient", "NotFound", "ObserveError", "QueryError"]


class ObserveError(RuntimeError):
    """A query client failed; the message names the endpoint and what to do."""


class BackendUnavailable(ObserveError):
    """Nothing answered (connection refused, timeout, DNS)."""


class QueryError(ObserveError):
    """The backend rejected the request (bad query, bad parameter)."""

    def __init__(self, message: str, status: int, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class NotFound(ObserveError):
    """The thing asked for does not exist (e.g. an unknown trace id)."""


# Retried: the request may not have reached the server, or the server said "try later".
_RETRY_STATUS = {502, 503, 504}


class HTTPClient:
    """A small synchronous client for one backend."""

    backend = "backend"
    settings_field = ""

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        settings = settings or load_settings()
        self.settings = settings
        self.url = (url or getattr(settings, self.settings_field)).rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{self.backend} URL must be http(s)://host[:port], got {self.url!r}")
        self.timeout_s = settings.http_timeout_s if timeout_s is None else timeout_s
        self.retries = settings.http_retries if retries is None else retries
        if self.timeout_s <= 0 or self.retries < 0:
            raise ValueError(f"timeout_s must be > 0 and retries >= 0, got {self.timeout_s}, {self.retries}")
        self._client = httpx.Client(
            base_url=self.url,
            timeout=self.timeout_s,
            transport=transport,
            headers=dict(headers or {}),
            auth=auth,
        )

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.hostname}:{port}"

    def _fix(self) -> str:
        return "run `labkit stack up` (or check `labkit stack status`)"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request, retrying connection failures and 502/503/504 with a short backoff."""
        last: Exception | None = None
        response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.2 * 2 ** (attempt - 1), 2.0))
            try:
                response = self._client.request(
                    method, path, params=params, headers=headers, json=json, data=data, content=content
                )
            except httpx.TimeoutException as exc:
                last = exc
                continue
            except httpx.TransportError as exc:
                last = exc
                continue
            if response.status_code in _RETRY_STATUS and attempt < self.retries:
                continue
            return response
        if response is not None:
            return response
        if isinstance(last, httpx.TimeoutException):
            raise BackendUnavailable(
                f"{self.backend} at {self.url} did not answer {path} within {self.timeout_s:g} s "
                f"({self.retries + 1} attempts); raise LABKIT_HTTP_TIMEOUT_S or {self._fix()}"
            ) from last
        raise BackendUnavailable(
            f"nothing answers on {self.address} ({self.backend}, {self.url}) — {self._fix()}"
        ) from last

    def get_json(self, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        response = self.request("GET", path, params=params, headers=headers)
        self.raise_for_status(response, path)
        return self.decode_json(response, path)

    def decode_json(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ObserveError(
                f"{self.backend} at {self.url}{path} answered {response.status_code} with non-JSON "
                f"{response.headers.get('content-type', 'without a content type')}: {response.text[:200]!r}; "
                f"is {self.url} really {self.backend}?"
            ) from exc

    def raise_for_status(self, response: httpx.Response, path: str) -> None:
        if response.status_code < 400:
            return
        message, error_type = self.error_message(response)
        where = f"{self.backend} {response.request.method} {self.url}{path}"
        if response.status_code == 404:
            raise NotFound(f"{where}: 404 not found{': ' + message if message else ''}")
        if response.status_code in (401, 403):
            raise QueryError(
                f"{where}: {response.status_code} {message or 'not allowed'}; "
                "check the credentials in the settings",
                response.status_code,
                error_type,
            )
        raise QueryError(
            f"{where}: {response.status_code} {message}".rstrip(), response.status_code, error_type
        )

    def error_message(self, response: httpx.Response) -> tuple[str, str | None]:
        """The backend's own words: Prometheus JSON envelopes, Grafana ``message``, or plain text."""
        text = response.text.strip()
        if "json" in response.headers.get("content-type", ""):
            try:
                body = response.json()
            except ValueError:
                return text[:500], None
            if isinstance(body, dict):
                if "error" in body:
                    return str(body["error"]), body.get("errorType")
                if "message" in body:
                    return str(body["message"]), None
        return text[:500], None

    def close(self) -> None:
        self._client.close()

    def __del__(self) -> None:
        # Notebooks rarely close clients; closing the pool at collection avoids leaking sockets.
        client = self.__dict__.get("_client")
        if client is not None:
            with contextlib.suppress(Exception):  # never raise from a finalizer
                client.close()

    def __enter__(self) -> HTTPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
