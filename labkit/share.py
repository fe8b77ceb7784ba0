"""``labkit share``: one scrubbed archive of a run, for a learner to hand in.

The archive holds the executed notebooks, ``results.json`` and ``report.html`` of one run
folder, under ``<learner>-<run id>/``. Before anything is written every text is scrubbed:

- **secrets**: the configured secret values (the API key, the Grafana password), the
  values of environment variables whose names say they are secret (``*KEY*``, ``*TOKEN*``,
  ``*SECRET*``, ``*PASSWORD*``), and anything shaped like a known credential (Anthropic,
  AWS, GitHub, Slack, Google keys, private key blocks, ``api_key = ...`` assignments);
- **local paths**: the home folder, the project and run folders, the virtualenv, the
  temporary folder and the data dir become placeholders (``~``, ``<project>``, ...), and
  any ``/home/<name>``, ``/Users/<name>`` or ``C:\\Users\\<name>`` loses the name.

The archive is written to a temporary file and renamed into place, so a failed share
never leaves half an archive; the scrubbed texts are checked once more before writing.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labkit.config import Settings, load_settings

__all__ = ["SECRET_TEXT_PATTERNS", "Scrubber", "ShareError", "Shared", "share"]


class ShareError(ValueError):
    """The run folder cannot be shared; the message names it and what is wrong."""


# Credential shapes in text (the image scanner's byte patterns, plus the ones that show up
# in notebooks: short fake/test keys, bearer tokens, `key = value` assignments).
SECRET_TEXT_PATTERNS: dict[str, re.Pattern[str]] = {
    "anthropic-or-openai-key": re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}"),
    "aws-access-key-id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])"),
    "github-token": re.compile(
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{40,})"
    ),
    "slack-token": re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    "google-api-key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"),
    "bearer-token": re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{20,}=*"),
    "private-key": re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
    ),
    "secret-assignment": re.compile(
        r"(?i)\b([A-Za-z0-9_]*(?:api[_-]?key|secret|token|password|passwd)[A-Za-z0-9_]*)"
        # a value of 8+ characters with a letter and a digit (not `max_tokens=200`, not a name)
        r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)"
        r"((?=[^\s\"'\\,;]*\d)(?=[^\s\"'\\,;]*[A-Za-z])[^\s\"'\\,;]{8,})"
    ),
}
_SECRET_ENV_NAME = re.compile(r"(?i)(key|token|secret|password|passwd|credential)")
_USER_HOME = re.compile(r"(?P<root>/home/|/Users/|[A-Za-z]:\\\\?Users\\\\?)(?P<name>[^/\\\s\"'<>]+)")
REDACTED = "<redacted>"
MIN_SECRET_LEN = 8  # shorter configured values ("admin") would wreck ordinary words


@dataclass
class Scrubber:
    """Replaces secrets and local paths in text; counts what it replaced, by kind."""

    secrets: list[str] = field(default_factory=list)
    paths: list[tuple[str, str]] = field(default_factory=list)  # (absolute path, placeholder), longest first
    user: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_machine(
        cls, settings: Settings, run_dir: Path, environ: Mapping[str, str] | None = None
    ) -> Scrubber:
        environ = os.environ if environ is None else environ
        secrets = [
            s.get_secret_value()
            for s in (settings.anthropic_api_key, settings.grafana_password)
            if s is not None and len(s.get_secret_value()) >= MIN_SECRET_LEN
        ]
        secrets += [
            value
            for name, value in environ.items()
            if _SECRET_ENV_NAME.search(name) and len(value) >= MIN_SECRET_LEN and not value.startswith("/")
        ]
        home = Path.home()
        places = {
            str(run_dir.resolve()): "<run>",
            str(Path.cwd().resolve()): "<project>",
            str(settings.data_dir.resolve()): "<data_dir>",
            sys.prefix: "<python>",
            str(Path(tempfile.gettempdir()).resolve()): "<tmp>",
            str(home): "~",
        }
        project = _project_root(run_dir)
        if project is not None:
            places[str(project)] = "<project>"
        places = {p: v for p, v in places.items() if p and p not in ("/", "\\") and len(p) > 1}
        ordered = sorted(places.items(), key=lambda kv: len(kv[0]), reverse=True)
        user = os.environ.get("USER") or os.environ.get("USERNAME") or home.name
        return cls(sorted(set(secrets), key=len, reverse=True), ordered, user or None)

    def _count(self, kind: str, n: int) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n

    def scrub(self, text: str) -> str:
        for value in self.secrets:
            for form in {value, json.dumps(value)[1:-1]}:  # raw and as escaped inside JSON
                self._count("secret", text.count(form))
                text = text.replace(form, REDACTED)
        for kind, pattern in SECRET_TEXT_PATTERNS.items():
            if kind == "secret-assignment":
                text, n = pattern.subn(lambda m: m.group(1) + m.group(2) + REDACTED, text)
            else:
                text, n = pattern.subn(REDACTED, text)
            self._count(kind, n)
        for path, placeholder in self.paths:
            text, n = _path_pattern(path).subn(placeholder.replace("\\", "\\\\"), text)
            self._count("path", n)
        text, n = _USER_HOME.subn(lambda m: m.group("root") + "<user>", text)
        self._count("user-home", n)
        if self.user and len(self.user) >= 3:
            # The OS user name inside a path (`/srv/alice/lab`), not as an ordinary word.
            named = re.compile(rf"(?<=[/\\]){re.escape(self.user)}(?=[/\\])")
            text, n = named.subn("<user>", text)
            self._count("user-name", n)
        return text

    def leaks(self, text: str) -> list[str]:
        """What would still leak from ``text`` (kinds), for the final check."""
        found = [
            kind for kind, p in SECRET_TEXT_PATTERNS.items() if kind != "secret-assignment" and p.search(text)
        ]
        found += ["secret" for s in self.secrets if s in text]
        found += ["path" for p, _ in self.paths if _path_pattern(p).search(text)]
        return found


def _path_pattern(path: str) -> re.Pattern[str]:
    # The path as written, or escaped inside JSON; only as a whole component (`/root`, not `/rootfs`).
    forms = sorted({re.escape(path), re.escape(json.dumps(path)[1:-1])}, key=len, reverse=True)
    return re.compile(rf"(?:{'|'.join(forms)})(?=[/\\\"'\s<>:;,.)\]]|$)")


def _project_root(run_dir: Path) -> Path | None:
    for parent in run_dir.resolve().parents:
        if (parent / "pyproject.toml").is_file() or (parent / "notebooks").is_dir():
            return parent
    return None


@dataclass
class Shared:
    path: Path
    files: list[str]
    redactions: dict[str, int]


def _files(run_dir: Path, results: dict) -> Iterable[tuple[str, Path]]:
    yield "results.json", run_dir / "results.json"
    if (run_dir / "report.html").is_file():
        yield "report.html", run_dir / "report.html"
    for nb in results["notebooks"]:
        rel = Path(nb["path"])
        if rel.is_absolute() or ".." in rel.parts:
            raise ShareError(
                f"{run_dir / 'results.json'}: notebook path {nb['path']!r} points outside the run"
            )
        source = run_dir / rel
        if source.is_file():
            yield rel.as_posix(), source


def share(
    run_dir: str | Path,
    output: str | Path | None = None,
    *,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
) -> Shared:
    """Write the scrubbed ``.tar.gz`` of ``run_dir``; see the module docstring."""
    from labkit.report import ReportError, load_run

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ShareError(f"{run_dir} is not a run folder")
    try:
        results = load_run(run_dir)
    except ReportError as exc:
        raise ShareError(str(exc)) from None
    settings = settings or load_settings()
    scrubber = Scrubber.for_machine(settings, run_dir, environ)
    learner = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(results.get("learner") or settings.learner))
    prefix = f"{learner}-{results['run_id']}"
    target = Path(output) if output is not None else Path.cwd() / f"{prefix}.tar.gz"
    if target.is_dir():
        raise ShareError(f"--output {target} is a folder; give a file name ending in .tar.gz")

    members: list[tuple[str, bytes]] = []
    for name, source in _files(run_dir, results):
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ShareError(f"cannot read {source}: {exc}") from exc
        clean = scrubber.scrub(text)
        leaks = scrubber.leaks(clean)
        if leaks:  # never happens unless the patterns disagree; refuse rather than leak
            raise ShareError(f"{source}: scrubbing left {sorted(set(leaks))}; nothing was written")
        if name.endswith((".json", ".ipynb")):
            try:
                json.loads(clean)
            except json.JSONDecodeError as exc:
                raise ShareError(f"{source}: scrubbing broke its JSON ({exc}); nothing was written") from exc
        members.append((f"{prefix}/{name}", clean.encode("utf-8")))

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".share-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))  # no uid/gid/user names of this machine
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Shared(target, [name for name, _ in members], dict(scrubber.counts))
