"""A private temporary copy of the sources under review, for the tools to read.

Tools (ruff, bandit, pytest) run on this copy, never on the caller's files, and the
copy maps each staged path back to the path the review shows.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from labkit.agents.code_critic.intake import SourceFile

__all__ = ["Workspace"]


def _safe_relative(shown: str, index: int) -> PurePosixPath:
    """A relative path inside the workspace (absolute or ``..`` paths are re-rooted)."""
    parts = [p for p in PurePosixPath(shown).parts if p not in ("/", "..", ".")]
    return PurePosixPath(*parts) if parts else PurePosixPath(f"file{index}.py")


@dataclass
class Workspace:
    root: Path
    shown: dict[str, str] = field(default_factory=dict)  # staged relative posix path -> shown path
    sources: list[str] = field(default_factory=list)  # staged relative paths of reviewed files
    tests: list[str] = field(default_factory=list)

    @classmethod
    def stage(cls, files: list[SourceFile], tests: list[SourceFile] | None = None) -> Workspace:
        ws = cls(Path(tempfile.mkdtemp(prefix="labkit-critic-")))
        for i, source in enumerate([*files, *(tests or [])]):
            rel = _safe_relative(source.path, i)
            target = ws.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.text, encoding="utf-8")
            ws.shown[rel.as_posix()] = source.path
            (ws.sources if i < len(files) else ws.tests).append(rel.as_posix())
        return ws

    def to_shown(self, path: str) -> str | None:
        """The review path of a tool-reported path (absolute or relative to the root)."""
        p = Path(path)
        try:
            rel = p.resolve().relative_to(self.root.resolve()).as_posix() if p.is_absolute() else p.as_posix()
        except ValueError:
            return None
        rel = rel.removeprefix("./")
        return self.shown.get(rel)

    def copy_to(self, dest: Path) -> None:
        for rel in self.shown:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.root / rel, dest / rel)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
