"""A service's start: a bad configuration file is one `bad configuration` line and None (the
caller exits 2); only the options the operator gave override the environment's settings."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel

from chassis.entrypoint import EXIT_BAD_CONFIGURATION, read_configuration, with_options
from chassis.errors import PermanentError

pytestmark = pytest.mark.unit


class Settings(BaseModel):
    group_id: str = "mlc-default"
    topic_prefix: str = ""
    every_seconds: float = 300.0


class ConfigError(PermanentError):
    pass


def test_only_the_options_given_override_the_settings() -> None:
    settings = Settings(topic_prefix="env.")
    same = with_options(settings, group_id=None, topic_prefix="", every_seconds=None)
    assert same == settings
    changed = with_options(settings, group_id="run-1", every_seconds=5.0)
    assert changed == Settings(group_id="run-1", topic_prefix="env.", every_seconds=5.0)


def test_a_bad_configuration_is_logged_and_read_as_none(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Settings:
        raise ConfigError("mapping.yaml line 4: tenants.t1.acounts: Extra inputs are not permitted")

    with caplog.at_level(logging.ERROR, logger="chassis.entrypoint"):
        assert read_configuration(broken, invalid=ConfigError) is None
    (record,) = caplog.records
    assert record.getMessage() == "bad configuration"
    assert "line 4: tenants.t1.acounts" in record.__dict__["error"]
    assert read_configuration(Settings, invalid=ConfigError) == Settings()
    assert EXIT_BAD_CONFIGURATION == 2


def test_another_error_is_not_taken_for_a_bad_configuration() -> None:
    def failing() -> Settings:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        read_configuration(failing, invalid=ConfigError)
