"""Grafana's HTTP API: health, datasources, dashboards get/put, search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pandas as pd

from labkit.config import Settings, load_settings
from labkit.observe._http import HTTPClient, ObserveError

__all__ = ["Grafana"]


class Grafana(HTTPClient):
    backend = "Grafana"
    settings_field = "grafana_url"

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        user: str = "admin",
        password: str | None = None,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
    ) -> None:
        settings = settings or load_settings()
        headers = {"Authorization": f"Bearer {token}"} if token else None
        auth = (
            None
            if token
            else (user, password if password is not None else settings.grafana_password.get_secret_value())
        )
        super().__init__(
            url,
            settings=settings,
            transport=transport,
            headers=headers,
            auth=auth,
            timeout_s=timeout_s,
            retries=retries,
        )

    def _fix(self) -> str:
        return (
            "start the live stack with `labkit stack up --backend live` (the embedded backend has no Grafana)"
        )

    def health(self) -> dict[str, Any]:
        """``{"database": "ok", "version": ...}``; raises when Grafana is down."""
        return self.get_json("/api/health")

    def datasources(self) -> pd.DataFrame:
        rows = self.get_json("/api/datasources") or []
        columns = ["uid", "name", "type", "url", "isDefault", "access"]
        return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)

    def datasource(self, uid: str) -> dict[str, Any]:
        return self.get_json(f"/api/datasources/uid/{uid}")

    def dashboard(self, uid: str) -> dict[str, Any]:
        """The dashboard model (the ``dashboard`` part of Grafana's answer)."""
        body = self.get_json(f"/api/dashboards/uid/{uid}")
        return body["dashboard"]

    def put_dashboard(
        self,
        model: Mapping[str, Any],
        *,
        folder_uid: str | None = None,
        overwrite: bool = True,
        message: str = "",
    ) -> dict[str, Any]:
        """Create or replace a dashboard; answers ``{"uid", "url", "version", "status"}``."""
        if not isinstance(model, Mapping) or "panels" not in model or not model.get("title"):
            raise ValueError("a dashboard model needs at least 'title' and 'panels'")
        dashboard = dict(model)
        dashboard.pop("id", None)  # ids are per-instance; uid identifies the dashboard everywhere
        payload: dict[str, Any] = {"dashboard": dashboard, "overwrite": overwrite, "message": message}
        if folder_uid:
            payload["folderUid"] = folder_uid
        response = self.request("POST", "/api/dashboards/db", json=payload)
        self.raise_for_status(response, "/api/dashboards/db")
        return self.decode_json(response, "/api/dashboards/db")

    def delete_dashboard(self, uid: str) -> None:
        response = self.request("DELETE", f"/api/dashboards/uid/{uid}")
        self.raise_for_status(response, f"/api/dashboards/uid/{uid}")

    def search(self, query: str = "", kind: str = "dash-db") -> pd.DataFrame:
        rows = self.get_json("/api/search", params={"query": query, "type": kind}) or []
        columns = ["uid", "title", "url", "type", "folderTitle"]
        return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)

    def ready(self) -> bool:
        try:
            return self.health().get("database") == "ok"
        except ObserveError:
            return False
