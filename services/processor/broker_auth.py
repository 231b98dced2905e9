"""faust's broker credentials, from the same `KafkaSettings` as every librdkafka client.

faust talks to Kafka through aiokafka and takes TLS and SASL as a `broker_credentials`
object rather than as client settings; this is the one translation, so the processor's
consumer, its producer and the admin client that declares its changelog topics connect
exactly as the chassis clients beside them do.
"""

from __future__ import annotations

import faust
from faust.types.auth import CredentialsT

from chassis.settings import KafkaSettings, SecurityProtocol


def broker_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """None for a plaintext broker; else faust's SSL or SASL credentials."""
    protocol = kafka.security_protocol
    if protocol is SecurityProtocol.PLAINTEXT:
        return None
    if protocol is SecurityProtocol.SSL:
        return faust.SSLCredentials(kafka.ssl_context())
    assert kafka.sasl_password is not None  # KafkaSettings checks it for SASL
    return faust.SASLCredentials(
        username=kafka.sasl_username,
        password=kafka.sasl_password.get_secret_value(),
        mechanism=kafka.sasl_mechanism.value,
        ssl_context=kafka.ssl_context() if protocol.uses_tls else None,
    )


def broker_urls(kafka: KafkaSettings) -> list[str]:
    """faust wants one URL per bootstrap server."""
    return [f"kafka://{host.strip()}" for host in kafka.bootstrap_servers.split(",") if host]
