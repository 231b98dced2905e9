"""Deployment settings from the environment (pydantic-settings).

Defaults run everything against the local broker on 127.0.0.1:19092, so `make demo` needs no
configuration; in Kubernetes the same names come from the pod's environment.

`KafkaSettings` is the one source of every Kafka client's connection: the broker, the
replication factor of every topic the connector creates (faust's changelogs included), and
TLS and SASL (PLAIN, SCRAM-SHA-256/512) for librdkafka and aiokafka alike. Secrets come from
the environment or, better, from files (`KAFKA_SASL_PASSWORD_FILE`, a mounted Kubernetes
Secret); they are `SecretStr` and registered with the log redactor. They cannot come from the
credential vault: the vault is a Kafka topic, read with these very settings.
"""

from __future__ import annotations

import ssl
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.jsonlog import REDACTOR
from chassis.kafka.client_errors import record_refusal
from chassis.kafka.client_log import client_logger


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def uses_sasl(self) -> bool:
        return self in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)

    @property
    def uses_tls(self) -> bool:
        return self in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)


class SaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class KafkaSettings(BaseSettings):
    """`KAFKA_*` variables; a `*_FILE` variable names a file holding the secret instead."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:19092"
    replication_factor: int = Field(
        default=1, ge=1, description="of every topic created, faust's changelogs included"
    )
    client_id_prefix: str = "mlc"
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    ssl_ca_file: Path | None = Field(
        default=None, description="CA bundle (PEM) the broker's certificate must chain to"
    )
    ssl_cert_file: Path | None = Field(default=None, description="client certificate (PEM)")
    ssl_key_file: Path | None = Field(default=None, description="client private key (PEM)")
    ssl_key_password: SecretStr | None = None
    ssl_key_password_file: Path | None = None
    ssl_check_hostname: bool = True
    client_log_interval_s: float = Field(
        default=30.0, gt=0, description="a librdkafka log line repeats at most this often"
    )

    @model_validator(mode="after")
    def _secrets_and_completeness(self) -> Self:
        self.sasl_password = _from_file(
            self.sasl_password, self.sasl_password_file, "SASL_PASSWORD"
        )
        self.ssl_key_password = _from_file(
            self.ssl_key_password, self.ssl_key_password_file, "SSL_KEY_PASSWORD"
        )
        REDACTOR.register(self.sasl_password, self.ssl_key_password)
        if self.security_protocol.uses_sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs KAFKA_SASL_USERNAME "
                "and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)"
            )
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together")
        return self

    def client_config(self, client: str) -> dict[str, Any]:
        """librdkafka (confluent-kafka) settings of a client named `client`."""
        name = f"{self.client_id_prefix}-{client}"
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": name,
            "logger": client_logger(name, interval=self.client_log_interval_s),
            "error_cb": record_refusal,
        }
        return config | self._librdkafka_security()

    def _librdkafka_security(self) -> dict[str, Any]:
        protocol = self.security_protocol
        if protocol is SecurityProtocol.PLAINTEXT:
            return {}
        config: dict[str, Any] = {"security.protocol": protocol.value.lower()}
        if protocol.uses_sasl:
            assert self.sasl_password is not None  # checked by the validator
            config |= {
                "sasl.mechanism": self.sasl_mechanism.value,
                "sasl.username": self.sasl_username,
                "sasl.password": self.sasl_password.get_secret_value(),
            }
        if protocol.uses_tls:
            config["ssl.endpoint.identification.algorithm"] = (
                "https" if self.ssl_check_hostname else "none"
            )
            if self.ssl_ca_file is not None:
                config["ssl.ca.location"] = str(self.ssl_ca_file)
            if self.ssl_cert_file is not None and self.ssl_key_file is not None:
                config["ssl.certificate.location"] = str(self.ssl_cert_file)
                config["ssl.key.location"] = str(self.ssl_key_file)
            if self.ssl_key_password is not None:
                config["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        return config

    def aiokafka_config(self, client: str) -> dict[str, Any]:
        """Keyword arguments of an aiokafka client (what faust's credentials map to)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": f"{self.client_id_prefix}-{client}",
            "security_protocol": self.security_protocol.value,
        }
        if self.security_protocol.uses_sasl:
            assert self.sasl_password is not None  # checked by the validator
            config |= {
                "sasl_mechanism": self.sasl_mechanism.value,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value(),
            }
        if self.security_protocol.uses_tls:
            config["ssl_context"] = self.ssl_context()
        return config

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of Python clients, verifying the broker like librdkafka does."""
        context = ssl.create_default_context(
            cafile=str(self.ssl_ca_file) if self.ssl_ca_file else None
        )
        context.check_hostname = self.ssl_check_hostname
        if self.ssl_cert_file is not None and self.ssl_key_file is not None:
            password = self.ssl_key_password.get_secret_value() if self.ssl_key_password else None
            context.load_cert_chain(self.ssl_cert_file, self.ssl_key_file, password=password)
        return context


def _from_file(value: SecretStr | None, path: Path | None, name: str) -> SecretStr | None:
    """The secret given directly, or read from `path` (a trailing newline dropped)."""
    if path is None:
        return value
    if value is not None:
        raise ValueError(f"set KAFKA_{name} or KAFKA_{name}_FILE, not both")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"KAFKA_{name}_FILE={path}: cannot read it ({exc.strerror})") from exc
    secret = text.rstrip("\r\n")
    if not secret:
        raise ValueError(f"KAFKA_{name}_FILE={path} is empty")
    return SecretStr(secret)


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    schema_registry_url: str | None = None


class ServiceSettings(BaseSettings):
    """What every service process has: its name, its log level and its health/metrics port."""

    model_config = SettingsConfigDict(env_prefix="MLC_", extra="ignore")

    log_level: str = "INFO"
    health_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description="simulated seconds per real second, for a sandbox whose clock runs fast",
    )
    retry_budget_seconds: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="how long a consumer retries a failing record before dead-lettering it; "
        "time the external system is unavailable (an outage, a 429) does not count",
    )
    group_instance_id: str | None = Field(
        default=None,
        min_length=1,
        description="Kafka static group membership (group.instance.id): only a name that "
        "survives a restart, such as a StatefulSet pod's; a Deployment's pod gets a new name "
        "each time, and the old member would hold its partitions until its session expired",
    )
