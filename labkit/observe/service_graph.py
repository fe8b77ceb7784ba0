"""The service graph, from the metrics-generator's series, the way Grafana's Tempo view reads it.

Grafana's service map runs one instant query per metric, summed by the edge
(``sum by (client, server) (rate(<metric><serviceMapQuery>[$__range]))``; the bucket
series also by ``le``): request totals, failed totals, server seconds (sum) and the
server-seconds histogram. :data:`GRAFANA_QUERIES` are those queries with ``$__range``
and the optional label selector filled in; :func:`service_graph` runs them on any
Prometheus API (the embedded server or Mimir) and adds the p95 that the histogram
answers; :func:`draw_service_graph` draws nodes and edges labelled with request rate,
error rate and p95 as a matplotlib figure.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["GRAFANA_QUERIES", "ServiceGraph", "draw_service_graph", "grafana_queries", "service_graph"]

TOTAL = "traces_service_graph_request_total"
FAILED = "traces_service_graph_request_failed_total"
SECONDS = "traces_service_graph_request_server_seconds_sum"
BUCKETS = "traces_service_graph_request_server_seconds_bucket"

GRAFANA_QUERIES: dict[str, str] = {
    "total": "sum by (client, server) (rate(" + TOTAL + "{selector}[{range}]))",
    "failed": "sum by (client, server) (rate(" + FAILED + "{selector}[{range}]))",
    "seconds": "sum by (client, server) (rate(" + SECONDS + "{selector}[{range}]))",
    "histogram": "sum by (client, server, le) (rate(" + BUCKETS + "{selector}[{range}]))",
    "p95": "histogram_quantile(0.95, sum by (client, server, le) (rate(" + BUCKETS + "{selector}[{range}])))",
}


def grafana_queries(range_: str = "5m", selector: str = "") -> dict[str, str]:
    """The queries with ``$__range`` = ``range_`` and ``serviceMapQuery`` = ``selector`` (e.g.
    ``{server="learning-cycle"}``; PromQL label matchers, not TraceQL)."""
    if selector and not (selector.startswith("{") and selector.endswith("}")):
        raise ValueError(f"selector must be PromQL label matchers in braces, got {selector!r}")
    return {
        k: q.replace("{selector}", selector).replace("{range}", range_) for k, q in GRAFANA_QUERIES.items()
    }


@dataclass
class ServiceGraph:
    """``edges``: client, server, rate (req/s), error_rate (0..1), avg_s, p95_s; ``nodes``: service names."""

    edges: pd.DataFrame
    range: str

    @property
    def nodes(self) -> list[str]:
        names = set(self.edges["client"]) | set(self.edges["server"]) if len(self.edges) else set()
        return sorted(names)

    def slowest_edge(self) -> tuple[str, str]:
        """(client, server) of the edge with the highest p95."""
        if self.edges.empty:
            raise LookupError("the service graph has no edges in this range")
        row = self.edges.sort_values("p95_s", ascending=False).iloc[0]
        return str(row["client"]), str(row["server"])


def _by_edge(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    if frame.empty:
        return {}
    return {(str(r["client"]), str(r["server"])): float(r["value"]) for _, r in frame.iterrows()}


def service_graph(
    mimir: Any = None, *, range_: str = "5m", selector: str = "", time: Any = None
) -> ServiceGraph:
    """Run Grafana's service-map queries on ``mimir`` (default: ``labkit.observe.Mimir()``)."""
    if mimir is None:
        from labkit.observe import Mimir

        mimir = Mimir()
    queries = grafana_queries(range_, selector)
    total = _by_edge(mimir.query(queries["total"], time))
    failed = _by_edge(mimir.query(queries["failed"], time))
    seconds = _by_edge(mimir.query(queries["seconds"], time))
    p95 = _by_edge(mimir.query(queries["p95"], time))
    rows = []
    for edge, rate in sorted(total.items()):
        rows.append(
            {
                "client": edge[0],
                "server": edge[1],
                "rate": rate,
                "error_rate": failed.get(edge, 0.0) / rate if rate else 0.0,
                "avg_s": seconds.get(edge, 0.0) / rate if rate else float("nan"),
                "p95_s": p95.get(edge, float("nan")),
            }
        )
    columns = ["client", "server", "rate", "error_rate", "avg_s", "p95_s"]
    return ServiceGraph(pd.DataFrame(rows, columns=columns), range_)


def _layers(graph: ServiceGraph) -> dict[str, tuple[float, float]]:
    """Left-to-right layers by longest distance from a root (a node nobody calls)."""
    children: dict[str, list[str]] = {n: [] for n in graph.nodes}
    indegree = dict.fromkeys(graph.nodes, 0)
    for _, e in graph.edges.iterrows():
        children[e["client"]].append(e["server"])
        indegree[e["server"]] += 1
    depth = {n: 0 for n, d in indegree.items() if d == 0} or {graph.nodes[0]: 0}
    queue = deque(depth)
    while queue:  # BFS bounded by the node count, so a cycle cannot loop forever
        node = queue.popleft()
        for child in children[node]:
            if depth.get(child, -1) < depth[node] + 1 and depth[node] + 1 < len(graph.nodes):
                depth[child] = depth[node] + 1
                queue.append(child)
    for n in graph.nodes:
        depth.setdefault(n, 0)
    columns: dict[int, list[str]] = {}
    for n in sorted(depth):
        columns.setdefault(depth[n], []).append(n)
    pos = {}
    for x, names in columns.items():
        for i, n in enumerate(names):
            pos[n] = (float(x), 1.6 * ((len(names) - 1) / 2 - i))
    return pos


def draw_service_graph(graph: ServiceGraph, *, title: str | None = None) -> Any:
    """A matplotlib figure: one box per service, one arrow per edge labelled rate / errors / p95."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, max(3.5, 0.9 * len(graph.nodes))))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title or f"service graph (last {graph.range})")
    if graph.edges.empty:
        ax.text(0.5, 0.5, "no service-graph edges in this range", ha="center", va="center")
        return fig
    pos = _layers(graph)
    worst = graph.edges["p95_s"].max()
    for _, e in graph.edges.iterrows():
        (x0, y0), (x1, y1) = pos[e["client"]], pos[e["server"]]
        slow = e["p95_s"] == worst
        ax.annotate(
            "",
            xy=(x1 - 0.3, y1),
            xytext=(x0 + 0.3, y0),
            arrowprops={"arrowstyle": "->", "color": "tab:red" if slow else "0.4", "lw": 2 if slow else 1},
        )
        label = f"{e['rate']:.2f} req/s\n{100 * e['error_rate']:.0f}% err\np95 {1000 * e['p95_s']:.0f} ms"
        # Labels sit past the middle of the edge so that a fan-out's labels do not overlap.
        ax.text(
            x0 + 0.62 * (x1 - x0),
            y0 + 0.62 * (y1 - y0),
            label,
            fontsize=7,
            ha="center",
            va="center",
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.8"},
        )
    for name, (x, y) in pos.items():
        ax.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.4", "fc": "#dbe9f6", "ec": "tab:blue"},
        )
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    return fig
