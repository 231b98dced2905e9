"""The credential vault on the real broker: replicas share one compacted topic, a master-key
rotation keeps every replica reading, and no byte on the topic reveals a secret.

Every test has its own credentials topic (the `MLC_CREDENTIALS_TOPIC` override).
"""

from __future__ import annotations

import argparse
import base64
import io
import time
from collections.abc import Callable, Sequence

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import SecretStr

from chassis.settings import KafkaSettings
from chassis.vault import (
    CredentialUnreadable,
    CredentialVault,
    KafkaCredentialLog,
    KeyRing,
    MasterKey,
    VaultSettings,
    vault_from_environment,
)
from mlc.secrets import add_secrets_arguments, run_secrets

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(unique: str) -> str:
    return f"state.credentials-{unique}.v1"


@pytest.fixture
def kafka(kafka_bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=kafka_bootstrap)


def _replica(
    kafka: KafkaSettings, topic: str, current: MasterKey, *previous: MasterKey
) -> CredentialVault:
    settings = VaultSettings(
        master_key=SecretStr(current.to_base64()),
        master_key_previous=(
            SecretStr(",".join(k.to_base64() for k in previous)) if previous else None
        ),
        credentials_topic=topic,
    )
    vault = vault_from_environment(kafka=kafka, settings=settings)
    vault.load()
    return vault


def test_replicas_see_each_others_writes(kafka: KafkaSettings, topic: str) -> None:
    key = MasterKey.generate()
    first, second = _replica(kafka, topic, key), _replica(kafka, topic, key)
    first.put("slack.bot-token/acme", SecretStr("xoxb-first-value-1"))
    second.put("visma.client-secret/acme", SecretStr("visma-second-value-2"))
    second.put("slack.bot-token/acme", SecretStr("xoxb-replaced-value-3"))

    first.load()
    second.load()
    for replica in (first, second):
        assert replica.names() == ["slack.bot-token/acme", "visma.client-secret/acme"]
        assert replica.get("slack.bot-token/acme").get_secret_value() == "xoxb-replaced-value-3"
        assert replica.get("visma.client-secret/acme").get_secret_value() == (
            "visma-second-value-2"
        )


def test_rotation_keeps_a_replica_on_the_old_key_working(kafka: KafkaSettings, topic: str) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    operator = _replica(kafka, topic, old)
    operator.put("a", SecretStr("value-of-a-111"))
    operator.put("b", SecretStr("value-of-b-222"))
    lagging = _replica(kafka, topic, old)  # a running replica that will not get the new key yet

    report = operator.rotate(KeyRing(old).rotated_to(new))
    assert sorted(report.rewrapped) == ["a", "b"]

    lagging.load()  # sees the re-wrapped records, keeps its own wraps of the same data keys
    assert lagging.get("a").get_secret_value() == "value-of-a-111"
    lagging.put("c", SecretStr("value-of-c-333"))  # still writes under the old key
    rolled = _replica(kafka, topic, new, old)  # a replica already rolled to the new ring
    assert [rolled.get(n).get_secret_value() for n in ("a", "b", "c")] == [
        "value-of-a-111",
        "value-of-b-222",
        "value-of-c-333",
    ]
    with pytest.raises(CredentialUnreadable, match=new.key_id):
        _replica(kafka, topic, old).get("a")  # a fresh start on the old key alone cannot read

    lagging.use_ring(KeyRing(new, [old]))  # it gets the new key
    lagging.load()
    assert lagging.get("b").get_secret_value() == "value-of-b-222"
    assert rolled.rotate(KeyRing(new)).rewrapped == ["c"]  # the straggler written meanwhile
    assert _replica(kafka, topic, new).get("c").get_secret_value() == "value-of-c-333"


class RacingKafkaLog(KafkaCredentialLog):
    """Lets another writer in between the rotation's read and its first write."""

    before_next_append: Callable[[], None] | None = None

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        race, self.before_next_append = self.before_next_append, None
        if race is not None:
            race()
        super().append(records)


def test_a_secret_set_while_the_rotation_runs_is_kept(kafka: KafkaSettings, topic: str) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    operator = _replica(kafka, topic, old)
    operator.put("a", SecretStr("value-of-a-first"))
    operator.put("b", SecretStr("value-of-b-first"))
    colleague = _replica(kafka, topic, old)  # `mlc secrets set a` in another terminal
    store = RacingKafkaLog(kafka, topic=topic, client="vault-rotating")
    store.before_next_append = lambda: colleague.put("a", SecretStr("value-of-a-second"))
    rotating = CredentialVault(store, KeyRing(old))
    rotating.load()

    report = rotating.rotate(KeyRing(old).rotated_to(new))

    assert sorted(report.rewrapped) == ["a", "b"]
    assert report.rewritten == ["a"]
    fresh = _replica(kafka, topic, new)
    assert fresh.get("a").get_secret_value() == "value-of-a-second"
    assert fresh.get("b").get_secret_value() == "value-of-b-first"
    assert {r.key_id for r in fresh.entries()} == {new.key_id}
    assert rotating.get("a").get_secret_value() == "value-of-a-second"


def _raw_topic_bytes(kafka: KafkaSettings, topic: str, group: str) -> bytes:
    consumer = Consumer(
        kafka.client_config("vault-test-raw") | {"group.id": group, "enable.auto.commit": False}
    )
    try:
        tp = TopicPartition(topic, 0)
        _, high = consumer.get_watermark_offsets(tp, timeout=10)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        chunks: list[bytes] = []
        deadline = time.monotonic() + 30
        while consumer.position([tp])[0].offset < high:
            assert time.monotonic() < deadline, "topic not read to its end"
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            chunks += [message.key() or b"", message.value() or b""]
            for header in message.headers() or []:
                chunks += [
                    part if isinstance(part, bytes) else str(part).encode() for part in header
                ]
        assert high > 0
        return b"".join(chunks)
    finally:
        consumer.close()


def test_no_plaintext_anywhere_on_the_topic(kafka: KafkaSettings, topic: str, unique: str) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    secrets = {f"cred-{i}": f"plaintext-secret-{i}-{unique}" for i in range(5)}
    vault = _replica(kafka, topic, old)
    for name, value in secrets.items():
        vault.put(name, SecretStr(value))
    vault.rotate(KeyRing(old).rotated_to(new))
    vault.delete("cred-0")

    raw = _raw_topic_bytes(kafka, topic, f"vault-raw-{unique}")

    assert b"cred-3" in raw  # names are keys, in clear by design
    for value in secrets.values():
        plain = value.encode()
        for form in (plain, base64.b64encode(plain), plain.hex().encode(), unique.encode()):
            assert form not in raw
    for key in (old, new):
        material = base64.b64decode(key.to_base64())
        assert material not in raw
        assert key.to_base64().encode() not in raw


def _mlc_secrets(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlc secrets")
    add_secrets_arguments(parser)
    return run_secrets(parser.parse_args(argv))


def test_cli_set_list_rotate(
    kafka: KafkaSettings,
    topic: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("MLC_CREDENTIALS_TOPIC", topic)
    monkeypatch.setenv("MLC_MASTER_KEY", old.to_base64())
    monkeypatch.setenv("NEXT_KEY", new.to_base64())
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-secret-value\n"))

    assert _mlc_secrets(["set", "bill.api-key"]) == 0
    assert _mlc_secrets(["list"]) == 0
    listing = capsys.readouterr().out
    assert "bill.api-key" in listing
    assert f"{old.key_id} current" in listing
    assert _mlc_secrets(["rotate-master-key", "--new-key-env", "NEXT_KEY"]) == 0
    advice = capsys.readouterr().out
    assert "re-wrapped 1 credentials" in advice
    assert f"MLC_MASTER_KEY_PREVIOUS = the old key, id {old.key_id}" in advice
    assert "piped-secret-value" not in listing + advice
    assert _replica(kafka, topic, new).get("bill.api-key").get_secret_value() == (
        "piped-secret-value"
    )
