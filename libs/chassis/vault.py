"""The credential vault: encrypted credentials in a compacted Kafka topic every replica reads.

Credentials are sealed with envelope encryption (`chassis.vault_envelope`) and kept as
`EncryptedCredential` records keyed by name in `state.credentials.v1`, so every replica
rebuilds the same view with `load()`. Nothing decrypted is logged: every value `get` returns
is registered with the log redactor, and the records, the vault and the key ring show only
names and key ids.

A master-key rotation re-wraps data keys only. A replica that still holds just the old key
keeps reading an entry after its re-wrap as long as it loaded the entry before: the
ciphertext did not change, so the data key it already holds a wrap of still opens it.
A deletion is a record with `deleted` set rather than a Kafka tombstone, because
`read_to_end` keeps the newest value of a key and does not see tombstones.

Kafka has no compare-and-swap, so a rotation that re-wraps what it read could bury a value
`mlc secrets set` wrote in between (the re-wrap is newer, so it wins). The rotation therefore
reads the log back after each write and, for every name where another writer's record sits
between the one it re-wrapped and its own, writes that record again (re-wrapped): the
newest value a person set is the one that stays.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka.admin import AdminClient
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.jsonlog import REDACTOR
from chassis.kafka.producer import EventProducer, ProduceError, confirm
from chassis.kafka.state import StateLoadError, iter_to_end, read_to_end
from chassis.serde import AvroSerde, SchemaCatalog, SerdeError
from chassis.settings import KafkaSettings
from chassis.topics import TopicError, TopicSpec, ensure_topics
from chassis.vault_envelope import (
    CredentialNotFound,
    CredentialUnreadable,
    KeyRing,
    MasterKey,
    MasterKeyError,
    SealedCredential,
    VaultError,
    VaultUnavailable,
    rewrap,
    seal,
    tombstone,
    unseal,
)

__all__ = [
    "CREDENTIALS_TOPIC",
    "CredentialLog",
    "CredentialNotFound",
    "CredentialUnreadable",
    "CredentialVault",
    "KafkaCredentialLog",
    "KeyRing",
    "MasterKey",
    "MasterKeyError",
    "RotationReport",
    "SealedCredential",
    "VaultError",
    "VaultSettings",
    "VaultUnavailable",
    "configured_key_ring",
    "key_ring_from_settings",
    "vault_from_environment",
]

log = logging.getLogger(__name__)

CREDENTIALS_TOPIC = TopicSpec("state.credentials.v1", partitions=1, compacted=True)
SCHEMA = "io.mlconnector.state.EncryptedCredential"
NO_KEY_HINT = (
    "no master key is configured: set MLC_MASTER_KEY (base64) or MLC_MASTER_KEY_FILE "
    "(a file holding it); `mlc secrets generate-master-key` makes one"
)


class VaultSettings(BaseSettings):
    """Where the master keys come from, and the topic (overridable for tests)."""

    model_config = SettingsConfigDict(env_prefix="MLC_", extra="ignore")

    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    master_key_previous: SecretStr | None = None
    master_key_previous_file: Path | None = None
    credentials_topic: str = CREDENTIALS_TOPIC.name


def key_ring_from_settings(settings: VaultSettings) -> KeyRing:
    """The configured ring; raises `MasterKeyError` when no key or a malformed one is set."""
    ring = configured_key_ring(settings)
    if ring is None:
        raise MasterKeyError(NO_KEY_HINT)
    return ring


def configured_key_ring(settings: VaultSettings) -> KeyRing | None:
    """The configured ring, or None when no master key is set at all."""
    current = _one_key(settings.master_key, settings.master_key_file, "MLC_MASTER_KEY")
    if current is None:
        return None
    previous = _key_list(
        settings.master_key_previous, settings.master_key_previous_file, "MLC_MASTER_KEY_PREVIOUS"
    )
    return KeyRing(current, previous)


def _source_text(value: SecretStr | None, path: Path | None, env: str) -> tuple[str, str] | None:
    if value is not None and not value.get_secret_value().strip():
        value = None  # `MLC_MASTER_KEY=` in a manifest means "not set"
    if value is not None and path is not None:
        raise MasterKeyError(f"set either {env} or {env}_FILE, not both")
    if value is not None:
        return value.get_secret_value(), env
    if path is None:
        return None
    try:
        return path.read_text(), f"{env}_FILE ({path})"
    except OSError as exc:
        raise MasterKeyError(f"cannot read {env}_FILE {path}: {exc.strerror}") from None


def _one_key(value: SecretStr | None, path: Path | None, env: str) -> MasterKey | None:
    found = _source_text(value, path, env)
    return None if found is None else MasterKey.from_base64(found[0], source=found[1])


def _key_list(value: SecretStr | None, path: Path | None, env: str) -> list[MasterKey]:
    found = _source_text(value, path, env)
    if found is None:
        return []
    text, source = found
    parts = [p for p in text.replace("\n", ",").split(",") if p.strip()]
    return [
        MasterKey.from_base64(p, source=f"{source}, entry {i + 1}") for i, p in enumerate(parts)
    ]


class CredentialLog(Protocol):
    """Where sealed records live: the compacted topic, or a dict in unit tests."""

    def read_all(self) -> dict[str, bytes]:
        """The newest record of every name."""
        ...

    def read_log(self) -> list[tuple[str, bytes]]:
        """Every record still in the log, oldest first (a rotation looks for interleaving)."""
        ...

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        """Returns once every record is durable; raises `VaultUnavailable` otherwise."""
        ...


class KafkaCredentialLog:
    """The credentials topic: one record per name, compacted, written with acks=all."""

    def __init__(self, settings: KafkaSettings, *, topic: str, client: str = "vault") -> None:
        self._settings = settings
        self.topic = topic
        self._client = client
        self._producer: EventProducer | None = None

    def ensure_topic(self) -> None:
        spec = TopicSpec(self.topic, CREDENTIALS_TOPIC.partitions, compacted=True)
        try:
            ensure_topics(
                AdminClient(self._settings.client_config(f"{self._client}-admin")),
                [spec],
                replication_factor=self._settings.replication_factor,
            )
        except TopicError as exc:
            raise VaultUnavailable(str(exc)) from exc

    def read_all(self) -> dict[str, bytes]:
        try:
            return read_to_end(self._settings, self.topic, client=self._client)
        except StateLoadError as exc:
            raise VaultUnavailable(str(exc)) from exc

    def read_log(self) -> list[tuple[str, bytes]]:
        try:
            records = iter_to_end(self._settings, self.topic, client=self._client)
            return [(key, value) for key, value in records if key is not None]
        except StateLoadError as exc:
            raise VaultUnavailable(str(exc)) from exc

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        if self._producer is None:
            self._producer = EventProducer(self._settings, self._client)
        try:
            confirm(
                [self._producer.send(self.topic, key=name, value=value) for name, value in records]
            )
        except ProduceError as exc:
            raise VaultUnavailable(f"credentials not confirmed by Kafka: {exc}") from exc


@dataclass(frozen=True)
class RotationReport:
    new_key_id: str
    rewrapped: list[str]
    already_current: list[str]
    rewritten: list[str] = field(default_factory=list)
    """Names another writer changed while the rotation ran: their value was written again."""


class CredentialVault:
    """Reads and writes credentials; `ring` may be None for listing names and key ids only."""

    def __init__(
        self, store: CredentialLog, ring: KeyRing | None, *, serde: AvroSerde | None = None
    ) -> None:
        self._store = store
        self._ring = ring
        self._serde = serde or AvroSerde(SchemaCatalog.load())
        self._records: dict[str, SealedCredential] = {}

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            raise MasterKeyError(NO_KEY_HINT)
        return self._ring

    @property
    def configured_ring(self) -> KeyRing | None:
        return self._ring

    def use_ring(self, ring: KeyRing) -> None:
        """Takes a new key ring (after a deployment change) without reloading."""
        self._ring = ring

    def load(self) -> None:
        """Reads the topic to its end and replaces the view held in memory."""
        loaded: dict[str, SealedCredential] = {}
        for name, value in self._store.read_all().items():
            record = self._decode(name, value)
            loaded[name] = self._keep_readable(self._records.get(name), record)
        self._records = loaded

    def _keep_readable(
        self, held: SealedCredential | None, new: SealedCredential
    ) -> SealedCredential:
        """A re-wrap under a key this ring lacks leaves the ciphertext alone: keep our wrap."""
        if (
            held is not None
            and self._ring is not None
            and self._ring.find(new.key_id) is None
            and self._ring.find(held.key_id) is not None
            and not new.deleted
            and (held.nonce, held.ciphertext) == (new.nonce, new.ciphertext)
        ):
            return held
        return new

    def names(self) -> list[str]:
        return sorted(name for name, record in self._records.items() if not record.deleted)

    def entries(self) -> list[SealedCredential]:
        """The sealed records (names, key ids, times; never readable values)."""
        return [self._records[name] for name in self.names()]

    def get(self, name: str) -> SecretStr:
        record = self._records.get(name)
        if record is None or record.deleted:
            raise CredentialNotFound(name)
        value = unseal(self.ring, record)
        REDACTOR.register(value)
        return value

    def put(self, name: str, value: SecretStr) -> None:
        """Seals and writes the credential; returns once Kafka has confirmed it."""
        if not name or not value.get_secret_value():
            raise VaultError("a credential needs a name and a non-empty value")
        REDACTOR.register(value)
        record = seal(self.ring, name, value)
        self._write([record])
        log.info("credential stored", extra={"credential": name, "key_id": record.key_id})

    def delete(self, name: str) -> None:
        if name not in self.names():
            raise CredentialNotFound(name)
        self._write([tombstone(name)])
        log.info("credential deleted", extra={"credential": name})

    def rotate(self, new_ring: KeyRing) -> RotationReport:
        """Re-wraps every data key under `new_ring.current`; ciphertexts stay as they are.

        Reads the log itself, so it re-wraps what is stored now, not what `load` saw. Every
        entry is unwrapped before anything is written, so an entry neither ring can open
        stops the rotation with `CredentialUnreadable` and the topic is unchanged. A value
        set while the rotation runs is never lost (see the module docstring).
        """
        target = new_ring.current
        opener = KeyRing(target, [*_keys(self.ring), *_keys(new_ring)])
        entries = [r for r in self._newest(self._store.read_log()).values() if not r.deleted]
        stale = [r for r in entries if r.key_id != target.key_id]
        written = [rewrap(opener, record, target) for record in stale]
        ours: set[tuple[object, ...]] = set()
        rewritten: list[str] = []
        while written:
            self._write(written)
            ours.update(_identity(r) for r in written)
            log_now = self._decoded(self._store.read_log())
            written = [_restored(opener, r, target) for r in _buried(log_now, written, ours)]
            for record in written:
                rewritten.append(record.name)
                log.warning("a value set during the rotation is written again",
                            extra={"credential": record.name})  # fmt: skip
        self._records = self._newest(self._store.read_log())
        self._ring = new_ring
        log.info("credentials re-wrapped", extra={"key_id": target.key_id, "rewrapped": len(stale)})
        return RotationReport(
            new_key_id=target.key_id,
            rewrapped=[r.name for r in stale],
            already_current=[r.name for r in entries if r.key_id == target.key_id],
            rewritten=sorted(set(rewritten)),
        )

    def _decoded(self, records: list[tuple[str, bytes]]) -> list[SealedCredential]:
        return [self._decode(name, value) for name, value in records]

    def _newest(self, records: list[tuple[str, bytes]]) -> dict[str, SealedCredential]:
        newest: dict[str, SealedCredential] = {}
        for record in self._decoded(records):
            newest[record.name] = self._keep_readable(self._records.get(record.name), record)
        return newest

    def _write(self, records: list[SealedCredential]) -> None:
        self._store.append([(r.name, self._encode(r)) for r in records])
        for record in records:
            self._records[record.name] = record

    def _encode(self, record: SealedCredential) -> bytes:
        return self._serde.encode(SCHEMA, _to_avro(record))

    def _decode(self, name: str, value: bytes) -> SealedCredential:
        try:
            schema, fields = self._serde.decode(value)
        except SerdeError as exc:
            raise VaultError(f"record for credential {name!r} is unreadable: {exc}") from exc
        if schema != SCHEMA or fields["name"] != name:
            raise VaultError(f"record under key {name!r} is not a credential of that name")
        return SealedCredential(**fields)

    def __repr__(self) -> str:
        ring = self._ring.current.key_id if self._ring else None
        return f"CredentialVault(credentials={len(self.names())}, current_key_id={ring!r})"

    __str__ = __repr__


def _identity(record: SealedCredential) -> tuple[object, ...]:
    """What tells one written record from another (the wrap's nonce is fresh per write)."""
    return (record.deleted, record.key_id, record.key_nonce, record.wrapped_key, record.nonce,
            record.ciphertext)  # fmt: skip


def _buried(
    log_now: list[SealedCredential], written: list[SealedCredential], ours: set[tuple[object, ...]]
) -> list[SealedCredential]:
    """Records another writer appended after what we re-wrapped and before our write of the
    same name: ours is newer and hides them, so each must be written again. `ours` holds the
    identities of every record this rotation wrote."""
    buried = []
    for mine in written:
        history = [r for r in log_now if r.name == mine.name]
        if not history or _identity(history[-1]) != _identity(mine):
            continue  # someone wrote after us (theirs is the newest), or compaction took ours
        before = history[-2] if len(history) > 1 else None
        if before is not None and _identity(before) not in ours and not _same_value(before, mine):
            buried.append(before)
    return buried


def _same_value(a: SealedCredential, b: SealedCredential) -> bool:
    """The same stored secret: a re-wrap changes only the wrapped data key."""
    return (a.deleted, a.nonce, a.ciphertext) == (b.deleted, b.nonce, b.ciphertext)


def _restored(opener: KeyRing, record: SealedCredential, target: MasterKey) -> SealedCredential:
    """A buried record to write again: re-wrapped when we can, else as it was."""
    if record.deleted or record.key_id == target.key_id or opener.find(record.key_id) is None:
        return replace(record, updated_at=datetime.now(UTC)) if record.deleted else record
    return rewrap(opener, record, target)


def _keys(ring: KeyRing) -> list[MasterKey]:
    return [key for key_id in ring.key_ids if (key := ring.find(key_id)) is not None]


def _to_avro(record: SealedCredential) -> Mapping[str, Any]:
    return {
        "name": record.name,
        "key_id": record.key_id,
        "wrapped_key": record.wrapped_key,
        "key_nonce": record.key_nonce,
        "nonce": record.nonce,
        "ciphertext": record.ciphertext,
        "updated_at": record.updated_at,
        "deleted": record.deleted,
    }


def vault_from_environment(
    *, kafka: KafkaSettings | None = None, settings: VaultSettings | None = None
) -> CredentialVault:
    """The composition root used by services and the CLI: settings from the environment."""
    settings = settings or VaultSettings()
    ring = configured_key_ring(settings)  # None still lists names and key ids
    store = KafkaCredentialLog(kafka or KafkaSettings(), topic=settings.credentials_topic)
    store.ensure_topic()
    return CredentialVault(store, ring)
