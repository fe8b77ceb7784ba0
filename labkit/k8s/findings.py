"""One shape for every problem ``labkit k8s check`` reports: YAML, schema, server, policy."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    rule: str  # e.g. "probe-port-mismatch", "schema-invalid", "server-rejected"
    source: str  # file (or kustomization folder)
    line: int  # 1-based line of the object's document (0 when unknown)
    kind: str
    name: str
    container: str
    message: str  # what is wrong; tool and server messages verbatim
    explanation: str  # why it matters and what to do, in plain words
    stage: str = "policy"  # "yaml" | "schema" | "server" | "policy"

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
