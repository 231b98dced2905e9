"""KafkaSettings: TLS and SASL from the environment for librdkafka and aiokafka, secrets from
files and never in clear, one replication factor for every topic created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.unit.chassis.admin_kit import RecordingAdmin

from chassis.jsonlog import REDACTOR
from chassis.settings import KafkaSettings
from chassis.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.unit

PASSWORD = 'scram-pa$$-"quoted"-7'


@pytest.fixture
def scram_over_tls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    secret = tmp_path / "kafka-password"
    secret.write_text(PASSWORD + "\n")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "mlc-sink")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("KAFKA_SSL_CA_FILE", str(tmp_path / "ca.pem"))
    return tmp_path


def test_sasl_over_tls_from_the_environment_for_librdkafka(scram_over_tls: Path) -> None:
    config = KafkaSettings().client_config("sink")

    assert config["security.protocol"] == "sasl_ssl"
    assert config["sasl.mechanism"] == "SCRAM-SHA-256"
    assert config["sasl.username"] == "mlc-sink"
    assert config["sasl.password"] == PASSWORD, "read from the file, trailing newline dropped"
    assert config["ssl.ca.location"] == str(scram_over_tls / "ca.pem")
    assert config["ssl.endpoint.identification.algorithm"] == "https"


def test_sasl_from_the_environment_for_aiokafka(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "p"
    secret.write_text(PASSWORD)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "mlc")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9093,broker-2:9093")

    config = KafkaSettings().aiokafka_config("processor")

    assert config == {
        "bootstrap_servers": "broker-1:9093,broker-2:9093",
        "client_id": "mlc-processor",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "mlc",
        "sasl_plain_password": PASSWORD,
    }


def test_the_password_is_never_shown_and_is_redacted_from_logs(scram_over_tls: Path) -> None:
    settings = KafkaSettings()

    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings)
    assert PASSWORD not in settings.model_dump_json()
    assert PASSWORD not in REDACTOR(json.dumps({"msg": f"auth with {PASSWORD}"}))


def test_plaintext_adds_no_security_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    config = KafkaSettings().client_config("x")
    assert not any(key.startswith(("security.", "sasl.", "ssl.")) for key in config)


def test_sasl_without_a_password_is_refused_with_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "mlc")
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD"):
        KafkaSettings()


def test_a_password_and_a_password_file_together_are_refused(
    scram_over_tls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "other")
    with pytest.raises(ValidationError, match="not both"):
        KafkaSettings()


def test_an_unreadable_password_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD_FILE"):
        KafkaSettings()


def test_topics_take_the_replication_factor_of_kafka_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    admin = RecordingAdmin()

    ensure_topics(admin, [TopicSpec("a.v1", 3), TopicSpec("b.v1", 1)])  # type: ignore[arg-type]

    assert {name: t.replication_factor for name, t in admin.created.items()} == {
        "a.v1": 3,
        "b.v1": 3,
    }
