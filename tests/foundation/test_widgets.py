"""status_panel: states, the refresh callback, and the HTML/text fallback for papermill."""

from __future__ import annotations

from typing import Any

from labkit._probes import ENDPOINTS, EndpointState, Probes
from labkit.config import load_settings
from labkit.widgets import StatusPanel


class FlippingProbe:
    """Everything down on the first probe, live afterwards."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, settings: Any, probes: Probes | None) -> list[EndpointState]:
        self.calls += 1
        state = "down" if self.calls == 1 else "live"
        return [
            EndpointState(
                e, getattr(settings, e.setting), state, state == "live", False, f"probe {self.calls}"
            )
            for e in ENDPOINTS
        ]


def test_refresh_button_callback_reprobes_and_updates_the_html() -> None:
    probe = FlippingProbe()
    panel = StatusPanel(load_settings(environ={}), probe=probe)
    assert {s.state for s in panel.states} == {"down"}
    html_widget = panel.widget.children[0]
    assert "down" in html_widget.value and "live" not in html_widget.value
    panel.button.click()  # runs the on_click callbacks as the frontend would
    assert probe.calls == 2
    assert {s.state for s in panel.states} == {"live"}
    assert "probe 2" in html_widget.value and ">live<" in html_widget.value


def test_bundle_has_widget_view_and_fallbacks_for_frontends_without_widgets() -> None:
    panel = StatusPanel(load_settings(environ={}), probe=FlippingProbe())
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].startswith("<div><b>labkit backends</b>")
    assert "Tempo" in bundle["text/plain"] and "down" in bundle["text/plain"]


def test_real_probe_with_a_fake_network_marks_embedded_and_down() -> None:
    probes = Probes(
        http_get=lambda url, timeout: None,
        tcp_connect=lambda url, timeout: False,
        module_available=lambda name: name == "labkit.lgtm",
        embedded_status=lambda settings: None,
    )
    panel = StatusPanel(load_settings(environ={}, backend="embedded"), probes)
    states = {s.endpoint.name: s.state for s in panel.states}
    assert states["Tempo"] == "embedded" and states["Qdrant"] == "down"
    live = StatusPanel(load_settings(environ={}, backend="live"), probes)
    assert {s.state for s in live.states} == {"down"}  # backend=live never counts embedded
