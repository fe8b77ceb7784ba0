"""Settings: layering, sources, validation messages, secret masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.config import Backend, ConfigError, load_settings, load_settings_with_sources


def test_defaults_use_the_design_ports(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.backend is Backend.AUTO
    assert settings.otlp_grpc_endpoint.endswith(":4317")
    assert settings.otlp_http_endpoint.endswith(":4318")
    assert settings.mimir_url == "http://127.0.0.1:9009/prometheus"
    assert settings.loki_url.endswith(":3100")
    assert settings.tempo_url.endswith(":3200")
    assert settings.grafana_url.endswith(":3000")


def test_env_overrides_toml_which_overrides_defaults(tmp_path: Path) -> None:
    (tmp_path / "labkit.toml").write_text(
        'backend = "live"\nbudget_usd = 0.5\nloki_url = "http://127.0.0.1:13100"\n'
    )
    nested = tmp_path / "notebooks" / "03-lgtm"
    nested.mkdir(parents=True)
    settings, sources = load_settings_with_sources(environ={"LABKIT_BUDGET_USD": "1.25"}, cwd=nested)
    by_name = {s.name: s for s in sources}
    assert settings.backend is Backend.LIVE
    assert by_name["backend"].source.startswith("labkit.toml")
    assert settings.budget_usd == 1.25
    assert by_name["budget_usd"].source == "env LABKIT_BUDGET_USD"
    assert settings.loki_url == "http://127.0.0.1:13100"
    assert by_name["tempo_url"].source == "default"


def test_data_dir_in_toml_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "labkit.toml").write_text('data_dir = "state"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    settings = load_settings(environ={}, cwd=sub)
    assert settings.data_dir == tmp_path / "state"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LABKIT_BACKEND": "cloud"}, "backend"),
        ({"LABKIT_TEMPO_URL": "127.0.0.1:3200"}, "tempo_url"),
        ({"LABKIT_LOKI_URL": "http://127.0.0.1:notaport"}, "loki_url"),
        ({"LABKIT_BUDGET_USD": "-1"}, "budget_usd"),
        ({"LABKIT_BUDGET_TOKENS": "lots"}, "budget_tokens"),
    ],
)
def test_bad_values_name_the_setting_and_source(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env, cwd=tmp_path)
    message = str(info.value)
    assert repr(named) in message
    assert "env LABKIT_" in message


def test_unknown_key_in_toml_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "labkit.toml").write_text('backnd = "live"\n')
    with pytest.raises(ConfigError, match="unknown setting 'backnd'"):
        load_settings(environ={}, cwd=tmp_path)


def test_secret_is_masked_and_read_from_the_standard_variable(tmp_path: Path) -> None:
    key = "sk-test-0123456789abcdef"
    settings, sources = load_settings_with_sources(environ={"ANTHROPIC_API_KEY": key}, cwd=tmp_path)
    assert settings.has_api_key
    row = next(s for s in sources if s.name == "anthropic_api_key")
    assert key not in row.shown
    assert key not in repr(settings)
    assert row.source == "env ANTHROPIC_API_KEY"


def test_labkit_prefixed_key_wins_over_standard_variable(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"ANTHROPIC_API_KEY": "sk-one-xxxxxxxx", "LABKIT_ANTHROPIC_API_KEY": "sk-two-yyyyyyyy"},
        cwd=tmp_path,
    )
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == "sk-two-yyyyyyyy"


def test_explicit_config_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LABKIT_CONFIG"):
        load_settings(environ={"LABKIT_CONFIG": str(tmp_path / "missing.toml")}, cwd=tmp_path)
