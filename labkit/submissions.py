"""Turn what an instructor collected into run folders: folders, results.json files, archives.

``labkit report`` accepts, for each argument, a run folder, a ``results.json``, a folder
of submissions (run folders and archives anywhere below it), or an archive written by
``labkit share`` (``.tar.gz``/``.tgz``/``.tar``/``.zip``). Archives are unpacked into a
private temporary folder, member by member, refusing absolute paths, ``..``, links and
oversized contents, so a hostile archive cannot write outside it. A source that cannot
be read becomes a problem naming the file; the others are still reported.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["ARCHIVE_SUFFIXES", "Expanded", "expand", "is_archive"]

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # unpacked; a submission is notebooks and one report
_MAX_DEPTH = 4


@dataclass
class Expanded:
    runs: list[tuple[Path, str]] = field(default_factory=list)  # (run folder, where it came from)
    problems: list[str] = field(default_factory=list)


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _safe_name(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        return None
    return path


def _unpack(archive: Path, into: Path) -> None:
    """Extract regular files and folders only; raise ValueError naming what is wrong."""
    total = 0
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _safe_name(info.filename)
                if rel is None:
                    raise ValueError(f"member {info.filename!r} points outside the archive")
                if info.is_dir():
                    continue
                total += info.file_size
                if total > MAX_ARCHIVE_BYTES:
                    raise ValueError(f"unpacks to more than {MAX_ARCHIVE_BYTES >> 20} MiB")
                target = into.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
        return
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            rel = _safe_name(member.name)
            if rel is None:
                raise ValueError(f"member {member.name!r} points outside the archive")
            if member.isdir():
                continue
            if not member.isfile():
                continue  # links and devices are never part of a submission
            total += member.size
            if total > MAX_ARCHIVE_BYTES:
                raise ValueError(f"unpacks to more than {MAX_ARCHIVE_BYTES >> 20} MiB")
            source = tar.extractfile(member)
            if source is None:
                continue
            target = into.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())


def _runs_below(folder: Path, depth: int = 0) -> Iterable[Path]:
    if (folder / "results.json").is_file():
        yield folder
        return  # a run folder's notebooks are not more runs
    if depth >= _MAX_DEPTH:
        return
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            yield from _runs_below(entry, depth + 1)


def _archives_below(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if is_archive(p) and not p.name.startswith("."))


def expand(sources: Sequence[str | Path], workdir: Path) -> Expanded:
    """Every run folder in ``sources``; archives are unpacked below ``workdir``."""
    out = Expanded()
    counter = 0

    def from_archive(archive: Path) -> None:
        nonlocal counter
        counter += 1
        into = workdir / f"archive-{counter}"
        into.mkdir(parents=True)
        try:
            _unpack(archive, into)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            out.problems.append(f"{archive}: not a readable submission archive ({reason})")
            return
        found = list(_runs_below(into))
        if not found:
            out.problems.append(f"{archive}: the archive holds no results.json (not a labkit run)")
        out.runs.extend((run, f"{archive}:{run.relative_to(into).as_posix()}") for run in found)

    for raw in sources:
        path = Path(raw)
        if not path.exists():
            out.problems.append(f"{path} is not a run folder: it does not exist")
        elif path.is_file() and path.name == "results.json":
            out.runs.append((path.parent, str(path.parent)))
        elif is_archive(path):
            from_archive(path)
        elif path.is_dir():
            runs = list(_runs_below(path))
            archives = [] if (path / "results.json").is_file() else _archives_below(path)
            if not runs and not archives:
                out.problems.append(
                    f"{path} is not a run folder: no results.json (and no runs or archives inside)"
                )
            out.runs.extend((run, str(run)) for run in runs)
            for archive in archives:
                from_archive(archive)
        else:
            out.problems.append(
                f"{path} is neither a run folder nor a submission archive ({', '.join(ARCHIVE_SUFFIXES)})"
            )
    return out
