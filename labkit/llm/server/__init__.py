"""labkit's local Anthropic Messages API server (the embedded LLM backend)."""

from __future__ import annotations

from labkit.llm.server.app import ServerState, make_app, mask_key
from labkit.llm.server.faults import FAULT_KINDS, Fault, FaultPlan
from labkit.llm.server.runner import LocalServer, ServerError, port_answers, serve

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultPlan",
    "LocalServer",
    "ServerError",
    "ServerState",
    "make_app",
    "mask_key",
    "port_answers",
    "serve",
]
