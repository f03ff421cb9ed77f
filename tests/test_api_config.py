"""API configuration: defaults, environment, overrides, and the documentation of each setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_server import REPO

from api.config import SETTINGS, ConfigError, load_config


def test_defaults_environment_and_overrides() -> None:
    defaults = load_config(environ={})
    assert defaults["ASYNC_MODE"] == "auto" and defaults["API_TOKEN"] is None
    assert defaults["CORS_ORIGINS"] == ["http://localhost:3000", "http://127.0.0.1:3000"]
    environ = {
        "STREAM_POSE_ML_MAX_SESSIONS": "7",
        "STREAM_POSE_ML_CORS_ORIGINS": "*",
        "STREAM_POSE_ML_ASYNC_MODE": "Eventlet",
        "STREAM_POSE_ML_API_TOKEN": "",
    }
    config = load_config({"MAX_SESSIONS": "9", "DATA_DIR": "/srv/data"}, environ=environ)
    assert config["MAX_SESSIONS"] == 9  # the mapping wins over the environment
    assert config["CORS_ORIGINS"] == "*" and config["ASYNC_MODE"] == "eventlet"
    assert config["API_TOKEN"] is None and config["DATA_DIR"] == "/srv/data"


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("STREAM_POSE_ML_MAX_SESSIONS", "0"),
        ("STREAM_POSE_ML_MAX_SESSIONS", "many"),
        ("STREAM_POSE_ML_ASYNC_MODE", "asyncio"),
        ("STREAM_POSE_ML_HEARTBEAT_SECONDS", "-1"),
    ],
)
def test_bad_values_name_the_variable(env: str, value: str) -> None:
    with pytest.raises(ConfigError, match=env):
        load_config(environ={env: value})


def test_every_setting_is_documented() -> None:
    text = Path(REPO / "docs/api.md").read_text()
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in text]
    assert not missing, f"docs/api.md does not describe {missing}"
