"""Read BEIR-style query and relevance files.

Queries (JSONL, one object a line)::

    {"_id": "q1", "text": "How do I start the embedded server?"}
    {"_id": "q2", "text": "...", "relevant": ["docs/lgtm-server.md", {"chunk": "<uuid>", "grade": 2}]}

``_id`` may also be spelled ``id``/``query_id``, ``text`` may be ``query``. Judgements
come inline (``relevant``: document paths, chunk ids, or ``{"doc"|"chunk": ..., "grade": n}``
objects) and/or from a qrels file:

* TSV, BEIR's ``qrels/*.tsv``: ``query-id<TAB>corpus-id<TAB>score``, an optional header;
* JSONL: ``{"query_id": ..., "corpus_id": ..., "score": n}`` (``doc_id``/``chunk_id`` accepted).

A ``corpus-id`` is a document path relative to the corpus folder or a chunk id. Grades
are integers; 0 means judged non-relevant. Any malformed line raises
:class:`JudgementError` naming the file and line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JudgementError", "Query", "load_qrels", "load_queries"]


class JudgementError(ValueError):
    """A queries or qrels file is malformed; the message names the file and line."""


@dataclass
class Query:
    id: str
    text: str
    targets: dict[str, int] = field(default_factory=dict)  # chunk id or document path -> grade


def _first(obj: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((obj[n] for n in names if n in obj), None)


def _grade(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise JudgementError(f"{where}: score must be an integer, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise JudgementError(f"{where}: score must be an integer, got {value!r}") from None
    if number != int(number) or number < 0:
        raise JudgementError(f"{where}: score must be a non-negative integer, got {value!r}")
    return int(number)


def _target(item: Any, where: str) -> tuple[str, int]:
    if isinstance(item, str) and item.strip():
        return item.strip(), 1
    if isinstance(item, dict):
        name = _first(item, ("chunk", "doc", "corpus_id", "id"))
        if not isinstance(name, str) or not name.strip():
            raise JudgementError(f"{where}: a judgement object needs a 'doc' or 'chunk' string")
        return name.strip(), _grade(item.get("grade", item.get("score", 1)), where)
    raise JudgementError(f"{where}: a judgement is a path, a chunk id or an object, got {item!r}")


def load_queries(path: Path | str) -> list[Query]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise JudgementError(f"cannot read queries file {path}: {exc}") from exc
    queries: list[Query] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise JudgementError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise JudgementError(f"{where}: each line must be a JSON object")
        qid = _first(obj, ("_id", "id", "query_id"))
        text = _first(obj, ("text", "query"))
        if not isinstance(qid, (str, int)) or isinstance(qid, bool) or str(qid).strip() == "":
            raise JudgementError(f"{where}: missing query id ('_id')")
        if not isinstance(text, str) or not text.strip():
            raise JudgementError(f"{where}: missing query text ('text')")
        qid = str(qid)
        if qid in seen:
            raise JudgementError(f"{where}: duplicate query id {qid!r}")
        seen.add(qid)
        query = Query(qid, text.strip())
        relevant = obj.get("relevant", [])
        if not isinstance(relevant, list):
            raise JudgementError(f"{where}: 'relevant' must be a list")
        for item in relevant:
            name, grade = _target(item, where)
            query.targets[name] = max(grade, query.targets.get(name, 0))
        queries.append(query)
    if not queries:
        raise JudgementError(f"{path}: no queries")
    return queries


def load_qrels(path: Path | str) -> dict[str, dict[str, int]]:
    """query id -> {target: grade}."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise JudgementError(f"cannot read qrels file {path}: {exc}") from exc
    out: dict[str, dict[str, int]] = {}
    as_json = path.suffix.lower() in (".jsonl", ".json")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        if as_json:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise JudgementError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise JudgementError(f"{where}: each line must be a JSON object")
            qid = _first(obj, ("query_id", "query-id", "qid", "_id"))
            target = _first(obj, ("corpus_id", "corpus-id", "doc_id", "chunk_id", "doc", "chunk"))
            score = obj.get("score", obj.get("grade", 1))
        else:
            fields = line.split("\t")
            if number == 1 and fields[0].strip().lower() in ("query-id", "query_id", "qid"):
                continue  # BEIR header
            if len(fields) == 4:  # TREC qrels: qid iteration docno grade
                fields = [fields[0], fields[2], fields[3]]
            if len(fields) != 3:
                raise JudgementError(
                    f"{where}: expected 3 tab-separated fields (query-id, corpus-id, score), "
                    f"got {len(fields)}"
                )
            qid, target, score = (f.strip() for f in fields)
        if not isinstance(qid, (str, int)) or isinstance(qid, bool) or str(qid).strip() == "":
            raise JudgementError(f"{where}: missing query id")
        if not isinstance(target, str) or not target.strip():
            raise JudgementError(f"{where}: missing corpus id")
        grade = _grade(score, where)
        judged = out.setdefault(str(qid), {})
        judged[target.strip()] = max(grade, judged.get(target.strip(), 0))
    if not out:
        raise JudgementError(f"{path}: no judgements")
    return out
