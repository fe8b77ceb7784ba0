"""A small log shipper for the embedded cluster: kubelet's pod log files -> Loki, exactly once.

The embedded cluster cannot pull Alloy's image, so labkit does what Alloy's pod log pipeline
does on a live cluster (k8s/alloy): follow
``/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log`` (Docker json-file or CRI
format, partial lines joined), label each line with namespace, pod, container, node and job
(stdout/stderr as structured metadata ``stream``), and push to ``loki_url``, keeping positions
as promtail and Alloy do.

    with LogShipper() as shipper:   # background thread
        ...
    shipper.stats.shipped, shipper.stats.skipped_malformed
"""

from __future__ import annotations

from labkit.k8s.logship.formats import Malformed, Record, parse_line
from labkit.k8s.logship.positions import PositionsError
from labkit.k8s.logship.shipper import (
    DEFAULT_PODS_DIR,
    LogShipError,
    LogShipper,
    ShipStats,
    pod_labels,
    ship_once,
)

__all__ = [
    "DEFAULT_PODS_DIR",
    "LogShipError",
    "LogShipper",
    "Malformed",
    "PositionsError",
    "Record",
    "ShipStats",
    "parse_line",
    "pod_labels",
    "ship_once",
]
