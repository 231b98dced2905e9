"""A BILL subscription's keys in the vault: one sealed set, the old key verifying only during
a rotation's overlap, and nothing of a key in an error or in the vault's records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from memory_vault import MemoryCredentials
from pydantic import SecretStr

from chassis.vault import CredentialVault, KeyRing, MasterKey
from ingress.bill_keys import (
    BillKeysUnreadable,
    BillSecurityKeys,
    credential_name,
    read_keys,
    store_keys,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
FIRST, SECOND, THIRD = "first-key-Zm9vYmFyYmF6", "second-key-cXV4cXV1eA", "third-key-d2FsZG8"


def keys() -> BillSecurityKeys:
    return BillSecurityKeys(
        subscription_id="SUB-1", organization_id="00801ORG", tenant_id="t", current=SecretStr(FIRST)
    )


def values(secrets: list[SecretStr]) -> list[str]:
    return [s.get_secret_value() for s in secrets]


def test_a_rotation_keeps_the_old_key_for_the_overlap_only() -> None:
    rotated = keys().rotated(SecretStr(SECOND), now=NOW, overlap=timedelta(hours=1))

    assert values(rotated.verifying(NOW)) == [SECOND, FIRST]
    assert values(rotated.verifying(NOW + timedelta(minutes=59, seconds=59))) == [SECOND, FIRST]
    assert values(rotated.verifying(NOW + timedelta(hours=1))) == [SECOND]


def test_a_second_rotation_drops_the_oldest_key_and_no_overlap_retires_at_once() -> None:
    twice = (
        keys()
        .rotated(SecretStr(SECOND), now=NOW, overlap=timedelta(hours=1))
        .rotated(SecretStr(THIRD), now=NOW, overlap=timedelta(hours=1))
    )
    at_once = keys().rotated(SecretStr(SECOND), now=NOW, overlap=timedelta(0))

    assert values(twice.verifying(NOW)) == [THIRD, SECOND]
    assert values(at_once.verifying(NOW)) == [SECOND]


def test_the_set_is_sealed_in_the_vault_and_read_back_whole() -> None:
    log = MemoryCredentials()
    vault = CredentialVault(log, KeyRing(MasterKey.generate()))
    rotated = keys().rotated(SecretStr(SECOND), now=NOW, overlap=timedelta(hours=1))

    store_keys(vault, rotated)
    vault.load()

    assert read_keys(vault, "SUB-1") == rotated
    assert list(log.records) == [credential_name("SUB-1")]
    stored = b"".join(log.records.values())
    assert FIRST.encode() not in stored
    assert SECOND.encode() not in stored


def test_a_value_that_is_not_a_key_set_is_refused_without_quoting_it() -> None:
    vault = CredentialVault(MemoryCredentials(), KeyRing(MasterKey.generate()))
    vault.put(credential_name("SUB-1"), SecretStr('{"current": "' + FIRST + '"}'))
    vault.load()

    with pytest.raises(BillKeysUnreadable) as refused:
        read_keys(vault, "SUB-1")

    assert FIRST not in str(refused.value)
    assert refused.value.__cause__ is None
