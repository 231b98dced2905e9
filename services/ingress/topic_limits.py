"""The body limit checked against the topics' own largest message, once at start-up.

`MLC_INGRESS_MAX_BODY_BYTES` is validated against Kafka's defaults, but an operator may give
a topic a smaller `max.message.bytes`. Then a body the ingress accepts could be a record the
broker refuses; each such request would cost a produce round trip before its 413. The
ingress therefore reads its topics' limits before it serves and refuses to start when the
body limit (plus room for the key and headers) does not fit in every one.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)

from ingress.config import IngressConfigError, IngressSettings

# The record's key (team/channel/ts or tenant/company, a few hundred bytes at most), its
# correlation header and the batch framing around it.
KEY_AND_HEADERS_BYTES = 2048


def largest_messages(
    admin: AdminClient, topics: Iterable[str], *, timeout: float = 30.0
) -> dict[str, int]:
    """Each topic's effective max.message.bytes (its own, or the broker's default)."""
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in topics]
    described = admin.describe_configs(resources, request_timeout=timeout)
    return {
        resource.name: int(future.result(timeout)["max.message.bytes"].value)
        for resource, future in described.items()
    }


def check_body_limit(admin: AdminClient, settings: IngressSettings) -> None:
    """Raises IngressConfigError naming the topic whose largest message a body may not fit."""
    # Each once: librdkafka cannot parse the answer to a request naming a topic twice.
    topics = dict.fromkeys(
        (settings.slack_topic, settings.visma_topic, settings.twilio_topic, settings.monday_topic)
    )
    for topic, largest in largest_messages(admin, topics).items():
        if settings.max_body_bytes + KEY_AND_HEADERS_BYTES > largest:
            raise IngressConfigError(
                f"MLC_INGRESS_MAX_BODY_BYTES ({settings.max_body_bytes}) does not fit in topic "
                f"{topic} (max.message.bytes {largest}, less {KEY_AND_HEADERS_BYTES} for the "
                "key and headers): lower the limit or raise the topic's max.message.bytes"
            )
