"""A small Dockerfile reader: instructions, global ARGs, stages and their base images.

Pure functions over text, so the parts that decide which base image a build needs are
unit-tested without an engine. It follows the Dockerfile reference where that matters
here: line continuations, comments, global ``ARG``s before the first ``FROM`` (the only
ones ``FROM`` may use), ``${VAR}``/``${VAR:-default}`` substitution, and stage names
that later ``FROM`` lines refer to instead of an image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Instruction", "Stage", "external_images", "global_args", "parse", "stages", "substitute"]


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line where the instruction starts
    keyword: str  # upper case
    args: str


@dataclass(frozen=True)
class Stage:
    index: int
    image: str  # as written, e.g. ${BASE_IMAGE}
    resolved: str  # after ARG substitution
    name: str | None
    from_stage: bool  # FROM names an earlier stage, not an image


def parse(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions, joining ``\\`` continuations and dropping comments."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are removed by the parser
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    if pending:
        joined = " ".join(part for part in pending if part)
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-+])?(?P<word>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def substitute(value: str, variables: Mapping[str, str | None]) -> str:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-word}`` and ``${VAR:+word}`` as Docker does."""

    def repl(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        current = variables.get(name)
        op = match.group("op")
        if op in (":-", "-"):
            return current if current else match.group("word")
        if op in (":+", "+"):
            return match.group("word") if current else ""
        return current or ""

    return _VAR.sub(repl, value)


def _arg_pairs(args: str) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for token in args.split():
        name, eq, default = token.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"ARG has an invalid name: {token!r}")
        pairs.append((name, default.strip("\"'") if eq else None))
    return pairs


def global_args(text: str) -> dict[str, str | None]:
    """The ``ARG``s declared before the first ``FROM`` and their defaults (None: no default)."""
    found: dict[str, str | None] = {}
    for ins in parse(text):
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            found.update(_arg_pairs(ins.args))
    return found


def stages(text: str, build_args: Mapping[str, str] | None = None) -> list[Stage]:
    """Every ``FROM`` with its image resolved against global ARGs and ``build_args``."""
    variables: dict[str, str | None] = dict(global_args(text))
    variables.update(build_args or {})
    out: list[Stage] = []
    names: set[str] = set()
    for ins in parse(text):
        if ins.keyword != "FROM":
            continue
        words = [w for w in ins.args.split() if not w.startswith("--")]
        if not words:
            raise ValueError(f"line {ins.line}: FROM without an image")
        image = words[0]
        name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
        resolved = substitute(image, variables)
        if not resolved:
            raise ValueError(
                f"line {ins.line}: FROM {image} resolves to an empty image name; pass the build arg"
            )
        from_stage = resolved.lower() in names
        out.append(Stage(len(out), image, resolved, name, from_stage))
        if name:
            names.add(name.lower())
    if not out:
        raise ValueError("the Dockerfile has no FROM instruction")
    return out


def external_images(text: str, build_args: Mapping[str, str] | None = None) -> list[str]:
    """Images the build needs from outside (not earlier stages, not ``scratch``), in order."""
    seen: list[str] = []
    for stage in stages(text, build_args):
        if stage.from_stage or stage.resolved == "scratch" or stage.resolved in seen:
            continue
        seen.append(stage.resolved)
    return seen
