"""Rule groups set and deleted through the ruler APIs, kept as one YAML file per namespace.

Loki (``POST /loki/api/v1/rules/{namespace}``) and Mimir
(``POST /prometheus/config/v1/rules/{namespace}``) take one rule group as YAML. The
group is validated first (a bad one is refused with the rule and position, nothing is
written); the namespace file is then replaced atomically, so the ruler never reads a
half-written file, and reloaded at once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from labkit.lgtm.rules.engines import engine_for
from labkit.lgtm.rules.manager import Ruler
from labkit.lgtm.rules.model import parse_group_text

__all__ = ["delete_group", "set_group"]


def _read_groups(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("groups") or [])


def _write_atomic(path: Path, groups: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not groups:
        path.unlink(missing_ok=True)
        return
    text = yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".yaml.part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_group(ruler: Ruler, engine: str, namespace: str, body: str) -> str:
    """Create or replace one group in ``namespace``; return its name. Raises RuleFileError/ValueError."""
    path = ruler.namespace_file(engine, namespace)
    group = parse_group_text(body, f"{namespace} (request body)", engine_for(engine).compile)
    raw = yaml.safe_load(body)
    with ruler.lock:
        groups = [g for g in _read_groups(path) if g.get("name") != group.name]
        groups.append(raw)
        _write_atomic(path, groups)
        ruler.reload()
    return group.name


def delete_group(ruler: Ruler, engine: str, namespace: str, group: str | None) -> bool:
    """Delete one group (or the whole namespace when ``group`` is None); False if it did not exist."""
    path = ruler.namespace_file(engine, namespace)
    with ruler.lock:
        groups = _read_groups(path)
        kept = [g for g in groups if group is not None and g.get("name") != group]
        if len(kept) == len(groups):
            return False
        _write_atomic(path, kept)
        ruler.reload()
    return True
