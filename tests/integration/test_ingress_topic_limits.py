"""Issue 10 item 3: the body limit stays below what the ingress's topics take, checked at start.

An operator may give a topic a smaller max.message.bytes than Kafka's default; the ingress
reads its topics' limits (Slack, Visma, Twilio status, monday) on the real broker and refuses to
start when a body at its limit could not be stored, naming the topic and the setting.
"""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from chassis.topics import TopicSpec, ensure_topics
from ingress.config import IngressConfigError, IngressSettings
from ingress.main import main
from ingress.topic_limits import KEY_AND_HEADERS_BYTES, check_body_limit, largest_messages

pytestmark = pytest.mark.integration

SMALL_TOPIC_BYTES = 100_000


@pytest.fixture
def topics(kafka_bootstrap: str, unique: str) -> tuple[AdminClient, str, str]:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    small, default = f"test.slack-small.{unique}", f"test.visma-default.{unique}"
    limit = {"max.message.bytes": str(SMALL_TOPIC_BYTES)}  # 6 partitions: as declared
    created = admin.create_topics(
        [NewTopic(small, num_partitions=6, replication_factor=1, config=limit)]
    )
    created[small].result(timeout=30)
    ensure_topics(admin, [TopicSpec(default, partitions=6)], replication_factor=1)
    return admin, small, default


def test_a_body_limit_over_a_topics_largest_message_is_refused_naming_it(
    topics: tuple[AdminClient, str, str],
) -> None:
    admin, small, default = topics
    assert largest_messages(admin, [small])[small] == SMALL_TOPIC_BYTES
    # 256 KiB by default
    settings = IngressSettings(
        slack_topic=small, visma_topic=default, twilio_topic=default, monday_topic=default
    )
    with pytest.raises(IngressConfigError) as refused:
        check_body_limit(admin, settings)
    assert small in str(refused.value)
    assert "MLC_INGRESS_MAX_BODY_BYTES" in str(refused.value)
    fitting = SMALL_TOPIC_BYTES - KEY_AND_HEADERS_BYTES
    check_body_limit(admin, settings.model_copy(update={"max_body_bytes": fitting}))


def test_the_ingress_does_not_start_with_a_body_limit_its_topic_cannot_take(
    topics: tuple[AdminClient, str, str], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, small, default = topics
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("MLC_INGRESS_SLACK_TOPIC", small)
    monkeypatch.setenv("MLC_INGRESS_VISMA_TOPIC", default)
    monkeypatch.setenv("MLC_INGRESS_TWILIO_TOPIC", default)
    monkeypatch.setenv("MLC_INGRESS_MONDAY_TOPIC", default)
    monkeypatch.setenv("MLC_INGRESS_SLACK_SIGNING_SECRET", "topic-limit-test-secret")
    assert main(["--port", "0", "--host", "127.0.0.1"]) == 2


def test_the_twilio_status_topics_limit_is_checked_too(
    topics: tuple[AdminClient, str, str],
) -> None:
    admin, small, default = topics
    settings = IngressSettings(
        slack_topic=default, visma_topic=default, twilio_topic=small, monday_topic=default
    )
    with pytest.raises(IngressConfigError, match=small):
        check_body_limit(admin, settings)


def test_the_monday_column_change_topics_limit_is_checked_too(
    topics: tuple[AdminClient, str, str],
) -> None:
    admin, small, default = topics
    settings = IngressSettings(
        slack_topic=default, visma_topic=default, twilio_topic=default, monday_topic=small
    )
    with pytest.raises(IngressConfigError, match=small):
        check_body_limit(admin, settings)
