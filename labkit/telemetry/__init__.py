"""Send traces, metrics and logs over OTLP with one call, and describe GenAI calls.

```python
import labkit.telemetry as telemetry
tel = telemetry.setup(service_name="notebook-04", protocol="grpc")
with tel.tracer().start_as_current_span("work"):
    ...
telemetry.shutdown()  # flushes; safe to call twice
```
"""

from __future__ import annotations

from labkit.telemetry import genai
from labkit.telemetry._setup import (
    Protocol,
    Telemetry,
    TelemetryError,
    current,
    flush,
    make_resource,
    setup,
    shutdown,
)

__all__ = [
    "Protocol",
    "Telemetry",
    "TelemetryError",
    "current",
    "flush",
    "genai",
    "make_resource",
    "setup",
    "shutdown",
]
