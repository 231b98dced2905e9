"""The processor reads the broker, the replication factor, TLS and SASL from KafkaSettings:
its own topics, faust's changelogs and faust's aiokafka clients included."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from tests.unit.chassis.admin_kit import RecordingAdmin

from chassis.settings import KafkaSettings
from processor.app import _faust_app, declare_topics
from processor.config import ProcessorSettings

pytestmark = pytest.mark.unit


def test_every_processor_topic_and_faust_changelog_gets_the_one_replication_factor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    settings = ProcessorSettings()
    admin = RecordingAdmin()

    declare_topics(settings, admin=admin)  # type: ignore[arg-type]
    app = _faust_app(settings)

    assert {t.replication_factor for t in admin.created.values()} == {3}
    assert len(admin.created) == len(settings.topic_specs())
    assert app.conf.topic_replication_factor == 3


def test_faust_connects_with_the_same_sasl_and_tls_as_librdkafka(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9094,k2:9094")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "processor")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "pw-of-the-processor")

    app = _faust_app(ProcessorSettings())
    auth = credentials_to_aiokafka_auth(app.conf.broker_credentials)
    expected = KafkaSettings().aiokafka_config("processor")

    assert [str(url) for url in app.conf.broker] == ["kafka://k1:9094", "kafka://k2:9094"]
    for key in (
        "security_protocol",
        "sasl_mechanism",
        "sasl_plain_username",
        "sasl_plain_password",
    ):
        assert auth[key] == expected[key]
    assert auth["ssl_context"] is not None
    assert "pw-of-the-processor" not in repr(app.conf.broker_credentials)
