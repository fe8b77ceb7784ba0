"""The RAG agent as a LangGraph graph.

    START -> retrieve -> screen -> answer -> ground -> END

* ``retrieve``: hybrid search of the index (:class:`labkit.rag.search.Searcher`).
* ``screen``: every retrieved chunk passes ``labkit.guardrails.check_input(kind="document")``;
  a chunk carrying an injection or a secret is dropped (and logged), never shown to the model.
* ``answer``: the chunks go to the model as ``<documents>`` with each chunk id as its
  ``<source>``, and the system prompt asks for a ``[chunk-id]`` after every sentence.
* ``ground``: :mod:`labkit.rag.grounding` scores every sentence against the chunks it
  cites. Each unsupported sentence is logged as ``hallucination detected`` (WARNING, with
  ``agent``, ``question``, ``sentence``, ``score``, ``reason`` as attributes; the OTLP log
  bridge adds ``trace_id`` and ``span_id``, which Loki keeps as structured metadata) and
  counted in ``labkit.rag.hallucinations`` (Prometheus ``labkit_rag_hallucinations_total``).

All of it runs under one ``invoke_agent rag`` span, one span per node.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, TypedDict

from opentelemetry import metrics as metrics_api

from labkit.llm.telemetry import LLMTelemetry, default_telemetry
from labkit.llm.tracked import TrackedClient
from labkit.rag.grounding import SentenceSupport, check_claims, split_claims
from labkit.rag.search import Filters, Fusion, Hit, Searcher
from labkit.rag.store import VectorStore

__all__ = [
    "AGENT_NAME",
    "SYSTEM_PROMPT",
    "RagAnswer",
    "RagConfig",
    "ask",
    "build_graph",
    "inject_fabrication",
]

AGENT_NAME = "rag"
_log = logging.getLogger("labkit.agents.rag")
_log.addHandler(logging.NullHandler())

SYSTEM_PROMPT = """Answer the question using only the documents provided.
After every sentence, cite the document it comes from as [source], using the document's
<source> value exactly. If the documents do not contain the answer, say so."""


@dataclass
class RagConfig:
    index: str = "labkit-docs"
    k: int = 4
    filters: Filters = field(default_factory=Filters)
    fusion: Fusion = field(default_factory=Fusion)
    model: str | None = None  # None: labkit.llm.default_model()
    max_tokens: int = 800


@dataclass
class RagAnswer:
    question: str
    answer: str
    hits: list[Hit]
    sentences: list[SentenceSupport]
    blocked: list[dict[str, Any]]
    trace_id: str
    model: str | None = None

    @property
    def citations(self) -> list[str]:
        return sorted({c for s in self.sentences for c in s.citations})

    @property
    def unsupported(self) -> list[SentenceSupport]:
        return [s for s in self.sentences if not s.supported]

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "sentence": s.sentence,
                    "cites": ", ".join(c[:8] for c in s.citations),
                    "score": s.score,
                    "lexical": s.lexical,
                    "semantic": s.semantic,
                    "supported": s.supported,
                    "reason": s.reason,
                }
                for s in self.sentences
            ]
        )


class _State(TypedDict, total=False):
    question: str
    hits: list[Hit]
    blocked: list[dict[str, Any]]
    answer: str
    model: str | None
    sentences: list[SentenceSupport]


def _documents(hits: list[Hit]) -> str:
    parts = [
        f'<document index="{i}"><source>{h.id}</source>'
        f"<document_content>{h.body}</document_content></document>"
        for i, h in enumerate(hits, start=1)
    ]
    return "<documents>\n" + "\n".join(parts) + "\n</documents>"


def build_graph(
    store: VectorStore | None = None,
    *,
    config: RagConfig | None = None,
    llm: TrackedClient | None = None,
    telemetry: LLMTelemetry | None = None,
    meter_provider: metrics_api.MeterProvider | None = None,
) -> Any:
    """The compiled graph; ``graph.invoke({"question": ...})`` returns the final state.
    ``meter_provider`` defaults to the global one (whatever ``labkit.telemetry.setup`` set)."""
    from langgraph.graph import END, START, StateGraph

    from labkit.guardrails import check_input

    if store is None:
        from labkit.rag.store import open_store

        store = open_store()
    config = config or RagConfig()
    telemetry = telemetry or (llm.telemetry if llm is not None else default_telemetry())
    client = llm or TrackedClient(agent=AGENT_NAME, telemetry=telemetry)
    searcher = Searcher(store, config.index)
    hallucinations = metrics_api.get_meter("labkit.agents.rag", meter_provider=meter_provider).create_counter(
        "labkit.rag.hallucinations",
        unit="{sentence}",
        description="answer sentences the cited chunks do not support",
    )

    def retrieve(state: _State) -> _State:
        with telemetry.node(AGENT_NAME, "retrieve") as span:
            question = state["question"]
            hits = searcher.search(question, k=config.k, filters=config.filters, fusion=config.fusion)
            span.set_attribute("labkit.rag.hits", len(hits))
            return {"hits": hits}

    def screen(state: _State) -> _State:
        with telemetry.node(AGENT_NAME, "screen") as span:
            kept: list[Hit] = []
            blocked: list[dict[str, Any]] = []
            for hit in state["hits"]:
                verdict = check_input(hit.body, agent=AGENT_NAME, kind="document")
                if verdict.allowed:
                    kept.append(hit)
                else:
                    reasons = [f.reason for f in verdict.findings]
                    blocked.append({"chunk": hit.id, "source": hit.source, "reasons": reasons})
                    _log.warning(
                        "retrieved chunk blocked by guardrails",
                        extra={"agent": AGENT_NAME, "chunk_id": hit.id, "source": hit.source},
                    )
            span.set_attribute("labkit.rag.blocked", len(blocked))
            return {"hits": kept, "blocked": blocked}

    def answer(state: _State) -> _State:
        with telemetry.node(AGENT_NAME, "answer"):
            if not state["hits"]:
                return {"answer": "No indexed document answers this question.", "model": None}
            from labkit.llm.client import default_model

            message = client.messages.create(
                model=config.model or default_model(client.settings),
                max_tokens=config.max_tokens,
                system=SYSTEM_PROMPT,
                messages=[
                    {"role": "user", "content": _documents(state["hits"]) + "\n\n" + state["question"]}
                ],
            )
            text = "".join(getattr(b, "text", "") for b in message.content)
            return {"answer": text, "model": message.model}

    def ground(state: _State) -> _State:
        with telemetry.node(AGENT_NAME, "ground") as span:
            chunks = {h.id: h.body for h in state["hits"]}
            claims = split_claims(state["answer"], set(chunks))
            sentences = check_claims(claims, chunks) if chunks else []
            bad = [s for s in sentences if not s.supported]
            span.set_attribute("labkit.rag.sentences", len(sentences))
            span.set_attribute("labkit.rag.unsupported", len(bad))
            for item in bad:
                event: dict[str, str | float] = {"sentence": item.sentence[:200], "score": item.score}
                span.add_event("hallucination detected", event)
                _log.warning(
                    "hallucination detected",
                    extra={
                        "agent": AGENT_NAME,
                        "question": state["question"],
                        "sentence": item.sentence,
                        "score": item.score,
                        "reason": item.reason,
                    },
                )
                hallucinations.add(1, {"agent": AGENT_NAME})
            return {"sentences": sentences}

    graph = StateGraph(_State)
    for name, node in (("retrieve", retrieve), ("screen", screen), ("answer", answer), ("ground", ground)):
        graph.add_node(name, node)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "screen")
    graph.add_edge("screen", "answer")
    graph.add_edge("answer", "ground")
    graph.add_edge("ground", END)
    compiled = graph.compile()
    setattr(compiled, "labkit_rag", (telemetry, config))  # noqa: B010 - ask() needs both
    return compiled


def ask(question: str, graph: Any | None = None) -> RagAnswer:
    """Answer one question under an ``invoke_agent rag`` span."""
    if not isinstance(question, str) or not question.strip():
        raise ValueError("the question must be a non-empty string")
    graph = graph or build_graph()
    telemetry, config = graph.labkit_rag
    description = "answers from indexed documents"
    with telemetry.agent(AGENT_NAME, model=config.model, description=description) as span:
        state = graph.invoke({"question": question})
        trace_id = format(span.get_span_context().trace_id, "032x")
        sentences = state.get("sentences", [])
        span.set_attribute("labkit.rag.unsupported", sum(1 for s in sentences if not s.supported))
    return RagAnswer(
        question=question,
        answer=state.get("answer", ""),
        hits=state.get("hits", []),
        sentences=sentences,
        blocked=state.get("blocked", []),
        trace_id=trace_id,
        model=state.get("model"),
    )


def inject_fabrication(settings: Any = None, count: int = 1) -> None:
    """Make the local model's next ``count`` answers end with a fabricated sentence.

    This is the local Messages API server's ``fabricate`` fault (``POST /_labkit/faults``);
    on the live backend there is nothing to inject and a ``ValueError`` says so.
    """
    import httpx

    from labkit.llm.client import choose_backend, ensure_local_server

    choice = choose_backend(settings)
    if choice.backend != "embedded":
        raise ValueError("fault injection needs the embedded (offline) model; the live backend is Claude")
    url = ensure_local_server(settings)
    body = {"schedule": [{"kind": "fabricate"}] * count, "append": True}
    httpx.post(url + "/_labkit/faults", json=body, timeout=5.0).raise_for_status()
