"""Notebook panels built on ipywidgets that still say something without a live frontend.

A panel's mime bundle carries both the widget view and a plain HTML table (and text).
JupyterLab renders the widget; papermill, nbconvert, GitHub and ``labkit report``
have no widget manager and fall back to the HTML, so an executed notebook still
shows the state it saw. The callbacks are ordinary methods, so tests call them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from labkit._probes import EndpointState, Probes, endpoint_states
from labkit.config import Settings, load_settings

__all__ = ["StatusPanel", "status_panel"]

_COLOURS = {"live": "#1e7b34", "embedded": "#1f4e79", "down": "#b3261e"}


class StatusPanel:
    """Each configured backend with its state (live / embedded / down) and a refresh button."""

    def __init__(
        self,
        settings: Settings | None = None,
        probes: Probes | None = None,
        probe: Callable[[Settings, Probes | None], list[EndpointState]] = endpoint_states,
    ) -> None:
        self.settings = settings or load_settings()
        self.probes = probes
        self._probe = probe
        self.states: list[EndpointState] = []
        self.checked_at: datetime | None = None
        self._widget: Any = None
        self._html: Any = None
        self.button: Any = None
        self.refresh()

    def refresh(self, _button: Any = None) -> list[EndpointState]:
        """Probe again and update the panel (the refresh button's callback)."""
        self.states = self._probe(self.settings, self.probes)
        self.checked_at = datetime.now()
        if self._html is not None:
            self._html.value = self.to_html()
        return self.states

    def to_html(self) -> str:
        rows = "".join(
            "<tr>"
            f"<td>{html.escape(s.endpoint.name)}</td>"
            f'<td style="color:{_COLOURS[s.state]};font-weight:bold">{s.state}</td>'
            f"<td><code>{html.escape(s.url)}</code></td>"
            f"<td>{html.escape(s.detail)}</td>"
            "</tr>"
            for s in self.states
        )
        when = f"{self.checked_at:%H:%M:%S}" if self.checked_at else "never"
        backend = html.escape(self.settings.backend.value)
        return (
            f"<div><b>labkit backends</b> (backend={backend}, checked {when})"
            '<table style="border-collapse:collapse">'
            "<tr><th>service</th><th>state</th><th>endpoint</th><th>detail</th></tr>"
            f"{rows}</table></div>"
        )

    def to_text(self) -> str:
        lines = [f"labkit backends (backend={self.settings.backend.value})"]
        lines += [f"  {s.endpoint.name:<26} {s.state:<9} {s.url}" for s in self.states]
        return "\n".join(lines)

    @property
    def widget(self) -> Any:
        """The ipywidgets box (built on first use; needs ipywidgets, a labkit dependency)."""
        if self._widget is None:
            import ipywidgets

            self._html = ipywidgets.HTML(value=self.to_html())
            self.button = ipywidgets.Button(
                description="Refresh", icon="refresh", tooltip="probe the backends again"
            )
            self.button.on_click(self.refresh)
            self._widget = ipywidgets.VBox([self._html, self.button])
        return self._widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        try:
            view = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:  # no kernel comm (plain Python): the HTML below is the panel
            view = None
        if isinstance(view, tuple):
            view = view[0]
        if isinstance(view, dict):
            bundle.update(view)
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = self.to_text()
        return bundle

    def __repr__(self) -> str:
        return self.to_text()


def status_panel(settings: Settings | None = None, probes: Probes | None = None) -> StatusPanel:
    """Show the configured backends' states; in JupyterLab with a Refresh button."""
    return StatusPanel(settings, probes)
