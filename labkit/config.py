"""One typed settings object for every labkit surface.

Values come from three layers, later ones winning: built-in defaults, an optional
``labkit.toml`` (found by ``LABKIT_CONFIG`` or by walking up from the working
directory, so a notebook kernel started in ``notebooks/03-lgtm`` finds the
project's file), and ``LABKIT_*`` environment variables. Every field remembers
which layer it came from so ``labkit config`` can explain itself.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

__all__ = [
    "Backend",
    "ConfigError",
    "SettingSource",
    "Settings",
    "find_config_file",
    "load_settings",
]

ENV_PREFIX = "LABKIT_"
CONFIG_FILE_NAME = "labkit.toml"


class ConfigError(ValueError):
    """A setting has a bad value; the message names the setting and its source."""


class Backend(StrEnum):
    AUTO = "auto"
    EMBEDDED = "embedded"
    LIVE = "live"


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL with a host, got {value!r}")
    try:
        parts.port  # noqa: B018 - property raises on a malformed port
    except ValueError as exc:
        raise ValueError(f"{name} has a malformed port: {value!r}") from exc
    return value.rstrip("/")


def _os_user() -> str:
    """The login name, the default learner identity; "learner" where the OS cannot say."""
    import getpass

    try:
        return getpass.getuser() or "learner"
    except (OSError, KeyError, ImportError):  # no LOGNAME/USER and no passwd entry (containers)
        return "learner"


class Settings(BaseModel):
    """Effective configuration. Field names map to ``LABKIT_<NAME>`` and to keys of labkit.toml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Backend = Field(Backend.AUTO, description="auto | embedded | live")
    data_dir: Path = Field(Path(".labkit"), description="where embedded services keep their state")

    # Wire endpoints: the same defaults serve the live stack and the embedded server.
    otlp_grpc_endpoint: str = Field("http://127.0.0.1:4317", description="OTLP/gRPC receiver")
    otlp_http_endpoint: str = Field("http://127.0.0.1:4318", description="OTLP/HTTP receiver")
    mimir_url: str = Field("http://127.0.0.1:9009/prometheus", description="Prometheus API (Mimir prefix)")
    loki_url: str = Field("http://127.0.0.1:3100", description="Loki HTTP API")
    tempo_url: str = Field("http://127.0.0.1:3200", description="Tempo HTTP API")
    grafana_url: str = Field("http://127.0.0.1:3000", description="Grafana HTTP API")
    llm_url: str = Field("http://127.0.0.1:4000", description="local Messages API server (embedded LLM)")
    anthropic_url: str = Field("https://api.anthropic.com", description="Anthropic Messages API (live)")
    qdrant_url: str = Field("http://127.0.0.1:6333", description="Qdrant server (live vectors)")

    k8s_context: str | None = Field(
        None, description="kubeconfig context of a live cluster (kind, minikube...); unset = embedded cluster"
    )
    kubeconfig: Path | None = Field(None, description="live cluster kubeconfig (default: kubectl's)")

    model: str = Field("claude-sonnet-5-5", description="model id for live runs")
    offline_model: str = Field("labkit-offline-1", description="model id of the embedded offline model")
    anthropic_api_key: SecretStr | None = Field(None, description="API key (or ANTHROPIC_API_KEY)")
    grafana_password: SecretStr = Field(SecretStr("admin"), description="Grafana admin password")

    budget_tokens: int = Field(200_000, description="max tokens per run (0 = no LLM calls)")
    budget_usd: float = Field(2.0, description="max cost in USD per run")

    # The semantic cache (labkit.cache), used by every TrackedClient when enabled.
    cache_enabled: bool = Field(False, description="answer repeated LLM requests from the semantic cache")
    cache_threshold: float = Field(0.80, description="cosine similarity a cached question must reach")
    cache_ttl_s: float = Field(86_400.0, description="seconds a cached answer stays valid")
    cache_max_entries: int = Field(10_000, description="cache size; the least recently used go first")

    http_timeout_s: float = Field(10.0, description="timeout of query clients")
    http_retries: int = Field(2, description="retries of query clients on connection errors")
    ingest_max_body_bytes: int = Field(16 * 1024 * 1024, description="embedded ingest limit (413 above)")
    retention_hours: float = Field(72.0, description="embedded store keeps data this long")
    retention_max_mb: float = Field(1024.0, description="embedded store size cap")
    listen_docker_bridge: bool = Field(
        False,
        description="embedded server also listens on the Docker bridge gateway (never 0.0.0.0)",
    )
    listen_pod_network: bool = Field(
        False,
        description="embedded server also listens on the pod bridge gateway (cni0; never 0.0.0.0)",
    )
    # Mimir's `promote_otel_resource_attributes`: copied onto every series of the resource (they
    # stay on target_info too), so a query can filter by pod without a target_info join.
    otlp_promote_resource_attributes: list[str] = Field(
        ["k8s.namespace.name", "k8s.pod.name", "k8s.node.name", "k8s.deployment.name"],
        description="OTLP resource attributes promoted to metric labels (comma-separated; empty = none)",
    )

    # The embedded ruler: Mimir-style PromQL rule files and Loki-style LogQL rule files are
    # separate lists, as the two rulers keep separate namespaces (globs, relative to labkit.toml).
    rule_files: list[str] = Field([], description="PromQL rule files of the ruler (globs, comma-separated)")
    loki_rule_files: list[str] = Field([], description="LogQL rule files of the ruler (globs)")
    ruler_evaluation_interval_s: float = Field(
        15.0, description="default evaluation interval of rule groups without an interval"
    )

    learner: str = Field(
        default_factory=_os_user,
        description="who ran the workbook, carried in results.json (default: OS user)",
    )

    @field_validator("learner")
    @classmethod
    def _learner(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 64 or any(c in value for c in "/\\\0\n\r\t"):
            raise ValueError(
                f"learner must be 1-64 characters without '/', '\\' or control characters, got {value!r}"
            )
        return value

    @field_validator(
        "otlp_grpc_endpoint",
        "otlp_http_endpoint",
        "mimir_url",
        "loki_url",
        "tempo_url",
        "grafana_url",
        "llm_url",
        "anthropic_url",
        "qdrant_url",
    )
    @classmethod
    def _url(cls, value: str, info: Any) -> str:
        return _check_url(info.field_name, value)

    @field_validator("rule_files", "loki_rule_files", "otlp_promote_resource_attributes", mode="before")
    @classmethod
    def _path_list(cls, value: Any) -> Any:
        # From the environment a list arrives as one comma-separated string.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("budget_tokens", "budget_usd", "http_retries", "retention_hours", "retention_max_mb")
    @classmethod
    def _non_negative(cls, value: float, info: Any) -> float:
        if value < 0:
            raise ValueError(f"{info.field_name} must be >= 0, got {value}")
        return value

    @field_validator("cache_threshold")
    @classmethod
    def _similarity(cls, value: float) -> float:
        if not 0.0 < value <= 1.0:
            raise ValueError(f"cache_threshold must be in (0, 1], got {value}")
        return value

    @field_validator(
        "http_timeout_s",
        "ingest_max_body_bytes",
        "ruler_evaluation_interval_s",
        "cache_ttl_s",
        "cache_max_entries",
    )
    @classmethod
    def _positive(cls, value: float, info: Any) -> float:
        if value <= 0:
            raise ValueError(f"{info.field_name} must be > 0, got {value}")
        return value

    @property
    def has_api_key(self) -> bool:
        return self.anthropic_api_key is not None and bool(self.anthropic_api_key.get_secret_value())

    def state_path(self, *parts: str) -> Path:
        """A path inside the data dir, created on demand."""
        path = self.data_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class SettingSource:
    name: str
    value: Any
    source: str  # "default", "labkit.toml (<path>)", "env LABKIT_X"
    secret: bool

    @property
    def shown(self) -> str:
        if self.value is None:
            return "-"
        if self.secret:
            raw = self.value.get_secret_value() if isinstance(self.value, SecretStr) else str(self.value)
            return "****" + raw[-2:] if len(raw) > 8 else "****"
        return str(self.value)


def find_config_file(start: Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    explicit = environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"LABKIT_CONFIG points at {path}, which is not a file")
        return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


_SECRET_FIELDS = {"anthropic_api_key", "grafana_password"}
# Well-known variables that users already have set; LABKIT_* still wins over them.
_ALIASES = {"anthropic_api_key": "ANTHROPIC_API_KEY"}


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    cwd: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build the effective settings; raise ConfigError naming the bad setting and where it came from."""
    settings, _ = load_settings_with_sources(environ, config_file, cwd, **overrides)
    return settings


def load_settings_with_sources(
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    cwd: Path | None = None,
    **overrides: Any,
) -> tuple[Settings, list[SettingSource]]:
    environ = os.environ if environ is None else environ
    fields = Settings.model_fields
    raw: dict[str, Any] = {}
    origin: dict[str, str] = {}

    path = config_file or find_config_file(cwd, environ)
    if path is not None:
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        table = table.get("labkit", table)  # accept a [labkit] table or top-level keys
        for key, value in table.items():
            if key not in fields:
                raise ConfigError(f"unknown setting {key!r} in {path}; known: {', '.join(sorted(fields))}")
            raw[key] = value
            origin[key] = f"{CONFIG_FILE_NAME} ({path})"
        if "data_dir" in raw and not Path(raw["data_dir"]).is_absolute():
            # Relative to the file, not to whichever notebook folder a kernel runs in.
            raw["data_dir"] = str(path.parent / raw["data_dir"])
        for key in ("rule_files", "loki_rule_files"):
            if isinstance(raw.get(key), list):
                raw[key] = [p if Path(p).is_absolute() else str(path.parent / p) for p in raw[key]]

    for name in fields:
        for var in (_ALIASES.get(name), ENV_PREFIX + name.upper()):
            if var and environ.get(var) not in (None, ""):
                raw[name] = environ[var]
                origin[name] = f"env {var}"
    for name, value in overrides.items():
        if name not in fields:
            raise ConfigError(f"unknown setting {name!r}")
        raw[name] = value
        origin[name] = "argument"

    try:
        settings = Settings(**raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            where = origin.get(name, "default")
            problems.append(f"setting {name!r} (from {where}): {err['msg']}")
        raise ConfigError("; ".join(problems)) from None

    sources = [
        SettingSource(name, getattr(settings, name), origin.get(name, "default"), name in _SECRET_FIELDS)
        for name in fields
    ]
    return settings, sources
