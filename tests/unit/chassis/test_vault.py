"""The credential vault without Kafka: envelope encryption, tampering, rotation, key loading,
and that no key or secret reaches a repr or a log line."""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from chassis.jsonlog import JsonFormatter
from chassis.vault import (
    CredentialNotFound,
    CredentialUnreadable,
    CredentialVault,
    KeyRing,
    MasterKey,
    MasterKeyError,
    VaultError,
    VaultSettings,
    key_ring_from_settings,
)
from chassis.vault_envelope import rewrap, seal, unseal
from mlc.secrets import add_secrets_arguments, run_secrets

pytestmark = pytest.mark.unit

SECRET = "xyzzy-plugh-0123456789-secret"


class MemoryLog:
    """The compacted topic as a list, before compaction: every record in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, bytes]] = []
        self.writes = 0

    @property
    def records(self) -> dict[str, bytes]:
        return dict(self.log)

    def read_all(self) -> dict[str, bytes]:
        return self.records

    def read_log(self) -> list[tuple[str, bytes]]:
        return list(self.log)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.writes += 1
        self.log.extend(records)


class RacingLog(MemoryLog):
    """Lets another writer in just before the rotation's first write lands, as `mlc secrets
    set` in another terminal would: after the rotation read, before its write."""

    def __init__(self) -> None:
        super().__init__()
        self.before_next_append: Callable[[], None] | None = None

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        race, self.before_next_append = self.before_next_append, None
        if race is not None:
            race()
        super().append(records)


@pytest.fixture
def old() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def new() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def store() -> MemoryLog:
    return MemoryLog()


def _vault(store: MemoryLog, *keys: MasterKey) -> CredentialVault:
    vault = CredentialVault(store, KeyRing(keys[0], keys[1:]) if keys else None)
    vault.load()
    return vault


def test_round_trip_through_the_stored_bytes(store: MemoryLog, old: MasterKey) -> None:
    _vault(store, old).put("slack.bot-token", SecretStr(SECRET))
    reader = _vault(store, old)
    assert reader.get("slack.bot-token").get_secret_value() == SECRET
    assert reader.names() == ["slack.bot-token"]
    assert SECRET.encode() not in store.records["slack.bot-token"]


def test_each_put_uses_a_fresh_data_key_and_nonce(old: MasterKey) -> None:
    ring = KeyRing(old)
    first, second = seal(ring, "a", SecretStr(SECRET)), seal(ring, "a", SecretStr(SECRET))
    assert first.nonce != second.nonce
    assert first.wrapped_key != second.wrapped_key
    assert first.ciphertext != second.ciphertext
    assert len(first.nonce) == len(first.key_nonce) == 12


def test_a_wrong_master_key_fails_clearly(store: MemoryLog, old: MasterKey, new: MasterKey) -> None:
    _vault(store, old).put("twilio.auth", SecretStr(SECRET))
    with pytest.raises(CredentialUnreadable, match=rf"'twilio.auth'.*{old.key_id}") as caught:
        _vault(store, new).get("twilio.auth")
    assert SECRET not in str(caught.value)


def test_missing_and_deleted_credentials_are_not_found(store: MemoryLog, old: MasterKey) -> None:
    vault = _vault(store, old)
    with pytest.raises(CredentialNotFound, match="'nope'"):
        vault.get("nope")
    vault.put("gone", SecretStr(SECRET))
    vault.delete("gone")
    assert _vault(store, old).names() == []
    with pytest.raises(CredentialNotFound):
        _vault(store, old).get("gone")


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_key", "key_nonce"])
def test_tampering_with_any_byte_field_fails(old: MasterKey, field: str) -> None:
    ring = KeyRing(old)
    sealed = seal(ring, "db.password", SecretStr(SECRET))
    original: bytes = getattr(sealed, field)
    changes: dict[str, Any] = {field: bytes([original[0] ^ 1]) + original[1:]}
    with pytest.raises(CredentialUnreadable, match=r"'db\.password'"):
        unseal(ring, replace(sealed, **changes))


def test_a_ciphertext_moved_to_another_name_fails(store: MemoryLog, old: MasterKey) -> None:
    ring = KeyRing(old)
    sealed = seal(ring, "tenant-a.token", SecretStr(SECRET))
    with pytest.raises(CredentialUnreadable, match=r"'tenant-b\.token'"):
        unseal(ring, replace(sealed, name="tenant-b.token"))
    vault = _vault(store, old)
    vault.put("tenant-a.token", SecretStr(SECRET))
    store.log.append(("tenant-b.token", store.records["tenant-a.token"]))
    with pytest.raises(VaultError, match=r"'tenant-b\.token'"):
        vault.load()


def test_a_forged_key_id_does_not_help(old: MasterKey, new: MasterKey) -> None:
    sealed = seal(KeyRing(old), "x", SecretStr(SECRET))
    with pytest.raises(CredentialUnreadable):
        unseal(KeyRing(new), replace(sealed, key_id=new.key_id))


def test_rotation_rewraps_without_touching_ciphertexts(
    store: MemoryLog, old: MasterKey, new: MasterKey
) -> None:
    writer = _vault(store, old)
    for name in ("a", "b", "c"):
        writer.put(name, SecretStr(f"{SECRET}-{name}"))
    before = {r.name: r for r in writer.entries()}
    old_replica = _vault(store, old)

    report = writer.rotate(KeyRing(old).rotated_to(new))

    assert sorted(report.rewrapped) == ["a", "b", "c"]
    after = {r.name: r for r in _vault(store, new).entries()}
    for name, record in after.items():
        assert record.key_id == new.key_id
        assert (record.nonce, record.ciphertext) == (before[name].nonce, before[name].ciphertext)
        assert record.wrapped_key != before[name].wrapped_key
    for ring in ([new], [new, old], [old, new]):
        assert _vault(store, *ring).get("b").get_secret_value() == f"{SECRET}-b"
    old_replica.load()  # it held the entries before: its own wraps still open them
    assert old_replica.get("c").get_secret_value() == f"{SECRET}-c"
    with pytest.raises(CredentialUnreadable, match=new.key_id):
        _vault(store, old).get("c")  # a replica started now needs the new key


def test_rotation_again_only_rewraps_stragglers(
    store: MemoryLog, old: MasterKey, new: MasterKey
) -> None:
    _vault(store, old).put("a", SecretStr(SECRET))
    _vault(store, new, old).put("b", SecretStr(SECRET))
    report = _vault(store, old, new).rotate(KeyRing(new, [old]))
    assert (report.rewrapped, report.already_current) == (["a"], ["b"])


def test_rotation_writes_nothing_when_an_entry_cannot_be_opened(
    store: MemoryLog, old: MasterKey, new: MasterKey
) -> None:
    _vault(store, old).put("a", SecretStr(SECRET))
    _vault(store, MasterKey.generate()).put("foreign", SecretStr(SECRET))
    writes = store.writes
    with pytest.raises(CredentialUnreadable, match="'foreign'"):
        _vault(store, old).rotate(KeyRing(old).rotated_to(new))
    assert store.writes == writes


@pytest.mark.parametrize("concurrent", ["set", "delete"])
def test_a_value_changed_during_rotation_is_not_overwritten(
    old: MasterKey, new: MasterKey, concurrent: str
) -> None:
    store = RacingLog()
    operator = _vault(store, old)
    for name in ("a", "b"):
        operator.put(name, SecretStr(f"{SECRET}-{name}-first"))
    other = _vault(store, old)  # another terminal, still on the old key
    if concurrent == "set":
        store.before_next_append = lambda: other.put("a", SecretStr(f"{SECRET}-a-second"))
    else:
        store.before_next_append = lambda: other.delete("a")

    report = _vault(store, old).rotate(KeyRing(old).rotated_to(new))

    assert sorted(report.rewrapped) == ["a", "b"]
    assert report.rewritten == ["a"]
    reader = _vault(store, new)
    if concurrent == "set":
        assert reader.get("a").get_secret_value() == f"{SECRET}-a-second"
        assert reader.entries()[0].key_id == new.key_id  # and it was re-wrapped too
    else:
        assert reader.names() == ["b"]
    assert reader.get("b").get_secret_value() == f"{SECRET}-b-first"
    assert store.writes == 2 + 1 + 1 + 1  # two puts, the race, the rotation, one repair


def test_a_value_set_after_the_rotation_wrote_is_left_alone(old: MasterKey, new: MasterKey) -> None:
    store = RacingLog()
    _vault(store, old).put("a", SecretStr(f"{SECRET}-first"))
    rotating = _vault(store, old)
    rotating.rotate(KeyRing(old).rotated_to(new))
    _vault(store, new, old).put("a", SecretStr(f"{SECRET}-later"))
    writes = store.writes
    assert _vault(store, new).get("a").get_secret_value() == f"{SECRET}-later"
    assert rotating.rotate(KeyRing(new)).rewrapped == []
    assert store.writes == writes


def test_rewrap_needs_the_old_key(old: MasterKey, new: MasterKey) -> None:
    sealed = seal(KeyRing(old), "x", SecretStr(SECRET))
    with pytest.raises(CredentialUnreadable):
        rewrap(KeyRing(new), sealed, new)


def test_no_key_material_or_secret_in_repr_or_str(
    store: MemoryLog, old: MasterKey, new: MasterKey
) -> None:
    vault = _vault(store, old, new)
    vault.put("a", SecretStr(SECRET))
    value = vault.get("a")
    report = vault.rotate(KeyRing(new, [old]))
    shown = " ".join(
        f"{thing!r} {thing!s}"
        for thing in (vault, vault.ring, old, new, *vault.entries(), report, value)
    )
    for forbidden in _forbidden(old, new, vault.entries()[0].wrapped_key):
        assert forbidden not in shown
    assert old.key_id in shown


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("test"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def test_nothing_decrypted_reaches_a_log_line(
    store: MemoryLog, old: MasterKey, new: MasterKey, json_log: io.StringIO
) -> None:
    vault = _vault(store, old)
    vault.put("monday.api", SecretStr(SECRET))
    value = vault.get("monday.api")
    vault.rotate(KeyRing(old).rotated_to(new))
    careless = logging.getLogger("careless.caller")
    careless.info("got %s", value.get_secret_value(), extra={"value": value.get_secret_value()})
    try:
        _vault(store, MasterKey.generate()).get("monday.api")
    except CredentialUnreadable:
        careless.exception("lookup failed for %s", value.get_secret_value())

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert {"credential stored", "credentials re-wrapped"} <= {line["msg"] for line in lines}
    text = json_log.getvalue()
    assert "***" in text
    for forbidden in _forbidden(old, new):
        assert forbidden not in text


def _forbidden(*things: MasterKey | bytes) -> list[str]:
    found = [SECRET, base64.b64encode(SECRET.encode()).decode()]
    for thing in things:
        raw = thing if isinstance(thing, bytes) else base64.b64decode(thing.to_base64())
        found += [base64.b64encode(raw).decode(), raw.hex(), repr(raw)[2:-1]]
    return found


def test_keys_from_environment(monkeypatch: pytest.MonkeyPatch, old: MasterKey) -> None:
    other = MasterKey.generate()
    monkeypatch.setenv("MLC_MASTER_KEY", old.to_base64())
    monkeypatch.setenv("MLC_MASTER_KEY_PREVIOUS", f"{other.to_base64()} , {old.to_base64()}")
    ring = key_ring_from_settings(VaultSettings())
    assert ring.current.key_id == old.key_id
    assert ring.key_ids == [old.key_id, other.key_id]


def test_keys_from_mounted_files(tmp_path: Path, old: MasterKey, new: MasterKey) -> None:
    (tmp_path / "current").write_text(new.to_base64() + "\n")
    (tmp_path / "previous").write_text(f"{old.to_base64()}\n")
    settings = VaultSettings(
        master_key_file=tmp_path / "current", master_key_previous_file=tmp_path / "previous"
    )
    ring = key_ring_from_settings(settings)
    assert (ring.current.key_id, ring.key_ids) == (new.key_id, [new.key_id, old.key_id])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64 at all!", "MLC_MASTER_KEY is not valid base64"),
        (base64.b64encode(b"k" * 16).decode(), "32 bytes, this one is 16"),
    ],
)
def test_a_malformed_key_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(MasterKeyError, match=message) as caught:
        key_ring_from_settings(VaultSettings(master_key=SecretStr(text)))
    assert text not in str(caught.value)


def test_key_configuration_errors(tmp_path: Path, old: MasterKey) -> None:
    with pytest.raises(MasterKeyError, match="no master key is configured"):
        key_ring_from_settings(VaultSettings())
    with pytest.raises(MasterKeyError, match="not both"):
        key_ring_from_settings(
            VaultSettings(master_key=SecretStr(old.to_base64()), master_key_file=tmp_path / "k")
        )
    with pytest.raises(MasterKeyError, match="cannot read MLC_MASTER_KEY_FILE"):
        key_ring_from_settings(VaultSettings(master_key_file=tmp_path / "missing"))


def test_a_vault_without_a_key_lists_but_does_not_decrypt(store: MemoryLog, old: MasterKey) -> None:
    _vault(store, old).put("a", SecretStr(SECRET))
    keyless = _vault(store)
    assert [r.key_id for r in keyless.entries()] == [old.key_id]
    with pytest.raises(MasterKeyError, match="MLC_MASTER_KEY"):
        keyless.get("a")


def mlc(argv: list[str]) -> int:
    """`mlc secrets ...` through the same parser wiring `mlc.cli` uses."""
    assert argv[0] == "secrets"
    parser = argparse.ArgumentParser(prog="mlc secrets")
    add_secrets_arguments(parser)
    return run_secrets(parser.parse_args(argv[1:]))


def test_cli_generates_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert mlc(["secrets", "generate-master-key"]) == 0
    out, err = capsys.readouterr()
    assert f"key id {MasterKey.from_base64(out, source='stdout').key_id}" in err


def test_cli_refuses_to_work_without_a_master_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("MLC_MASTER_KEY", "MLC_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert mlc(["secrets", "set", "a"]) == 2
    assert "no master key is configured" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [[], ["set"], ["list"], ["delete"], ["rotate-master-key"], ["generate-master-key"]]
)
def test_cli_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        mlc(["secrets", *argv, "--help"])
    assert exited.value.code == 0
    assert "usage: mlc secrets" in capsys.readouterr().out


def test_cli_takes_no_value_from_argv(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        mlc(["secrets", "set", "a", SECRET])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_an_empty_key_variable_counts_as_not_set() -> None:
    with pytest.raises(MasterKeyError, match="no master key is configured"):
        key_ring_from_settings(VaultSettings(master_key=SecretStr("  ")))
