"""Envelope encryption of one credential: AES-GCM under a data key wrapped by a master key.

Each credential gets a fresh 256-bit data key and a 96-bit nonce; the data key is itself
sealed with AES-GCM under a master key. Rotating the master key therefore only re-wraps the
small data key and never touches the ciphertext. The credential's name is bound as
associated data to both layers, so a ciphertext or wrapped key copied onto another name
fails authentication instead of decrypting as the wrong secret.

The errors of the vault::

    VaultError (ConnectorError)
    ├── MasterKeyError         no master key configured, or one that is not 32 base64 bytes
    ├── CredentialNotFound     no credential of that name
    ├── CredentialUnreadable   sealed under a key the ring lacks, or tampered with
    └── VaultUnavailable       Kafka did not answer or confirm; a retry may help
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from chassis.errors import ConnectorError, CredentialRefused, PermanentError, RetryableError

KEY_BYTES = 32
NONCE_BYTES = 12
_VALUE_CONTEXT = b"mlc.credential.value.v1\x00"
_WRAP_CONTEXT = b"mlc.credential.data-key.v1\x00"


class VaultError(ConnectorError):
    """Root of the credential vault's errors. No message ever contains a secret or a key."""


class MasterKeyError(VaultError, PermanentError):
    """No usable master key: missing, not base64, or not 32 bytes."""


class CredentialNotFound(VaultError, CredentialRefused):
    def __init__(self, name: str) -> None:
        super().__init__(f"credential {name!r} is not in the vault")
        self.name = name


class CredentialUnreadable(VaultError, PermanentError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"credential {name!r} cannot be decrypted: {reason}")
        self.name = name


class VaultUnavailable(VaultError, RetryableError):
    """The credentials topic could not be read or a write was not confirmed."""


class MasterKey:
    """32 secret bytes; only the key id (a hash prefix, not secret) is ever shown."""

    __slots__ = ("_material", "key_id")

    def __init__(self, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise MasterKeyError(
                f"a master key is {KEY_BYTES} bytes, this one is {len(material)} "
                "(make one with `mlc secrets generate-master-key`)"
            )
        self._material = bytes(material)
        self.key_id = hashlib.sha256(material).digest()[:8].hex()

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_base64(cls, text: str, *, source: str) -> MasterKey:
        """`source` names where the text came from (an env var, a file) for the error."""
        try:
            material = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise MasterKeyError(f"the master key in {source} is not valid base64") from None
        try:
            return cls(material)
        except MasterKeyError as exc:
            raise MasterKeyError(f"the master key in {source}: {exc}") from None

    def to_base64(self) -> str:
        """Only for printing a freshly generated key to the operator."""
        return base64.b64encode(self._material).decode()

    def aead(self) -> AESGCM:
        return AESGCM(self._material)

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    __str__ = __repr__


class KeyRing:
    """The current master key, which wraps every new data key, and the previous ones,
    which still unwrap entries that a rotation has not re-wrapped yet."""

    def __init__(self, current: MasterKey, previous: Iterable[MasterKey] = ()) -> None:
        self.current = current
        self._by_id = {current.key_id: current}
        for key in previous:
            self._by_id.setdefault(key.key_id, key)

    @property
    def key_ids(self) -> list[str]:
        return list(self._by_id)

    def find(self, key_id: str) -> MasterKey | None:
        return self._by_id.get(key_id)

    def rotated_to(self, new: MasterKey) -> KeyRing:
        """The ring after a rotation: `new` wraps, every key held now still unwraps."""
        return KeyRing(new, [self.current, *self._by_id.values()])

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current.key_id!r}, key_ids={self.key_ids!r})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class SealedCredential:
    """One credential as stored: ciphertext plus the wrapped data key that opens it."""

    name: str
    key_id: str
    wrapped_key: bytes
    key_nonce: bytes
    nonce: bytes
    ciphertext: bytes
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    deleted: bool = False

    def __repr__(self) -> str:
        state = "deleted" if self.deleted else f"{len(self.ciphertext)} ciphertext bytes"
        return (
            f"SealedCredential(name={self.name!r}, key_id={self.key_id!r}, {state}, "
            f"updated_at={self.updated_at.isoformat()})"
        )

    __str__ = __repr__


def _wrap_context(name: str, key_id: str) -> bytes:
    return _WRAP_CONTEXT + name.encode() + b"\x00" + key_id.encode()


def seal(ring: KeyRing, name: str, value: SecretStr) -> SealedCredential:
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(
        nonce, value.get_secret_value().encode(), _VALUE_CONTEXT + name.encode()
    )
    key_nonce, wrapped = _wrap(ring.current, name, data_key)
    return SealedCredential(
        name=name,
        key_id=ring.current.key_id,
        wrapped_key=wrapped,
        key_nonce=key_nonce,
        nonce=nonce,
        ciphertext=ciphertext,
    )


def tombstone(name: str) -> SealedCredential:
    return SealedCredential(name, "", b"", b"", b"", b"", deleted=True)


def unseal(ring: KeyRing, sealed: SealedCredential) -> SecretStr:
    data_key = _unwrap(ring, sealed)
    try:
        plaintext = AESGCM(data_key).decrypt(
            sealed.nonce, sealed.ciphertext, _VALUE_CONTEXT + sealed.name.encode()
        )
    except (InvalidTag, ValueError):
        raise CredentialUnreadable(sealed.name, "the ciphertext failed authentication") from None
    try:
        return SecretStr(plaintext.decode())
    except UnicodeDecodeError:
        raise CredentialUnreadable(sealed.name, "the value is not UTF-8") from None


def rewrap(ring: KeyRing, sealed: SealedCredential, new: MasterKey) -> SealedCredential:
    """The same ciphertext with its data key wrapped under `new`; `ring` must open the old."""
    key_nonce, wrapped = _wrap(new, sealed.name, _unwrap(ring, sealed))
    return replace(sealed, key_id=new.key_id, wrapped_key=wrapped, key_nonce=key_nonce)


def _wrap(master: MasterKey, name: str, data_key: bytes) -> tuple[bytes, bytes]:
    key_nonce = os.urandom(NONCE_BYTES)
    return key_nonce, master.aead().encrypt(key_nonce, data_key, _wrap_context(name, master.key_id))


def _unwrap(ring: KeyRing, sealed: SealedCredential) -> bytes:
    if sealed.deleted:
        raise CredentialNotFound(sealed.name)
    master = ring.find(sealed.key_id)
    if master is None:
        raise CredentialUnreadable(
            sealed.name,
            f"it is wrapped under master key {sealed.key_id}, "
            f"this key ring holds only {', '.join(ring.key_ids)}",
        )
    try:
        return master.aead().decrypt(
            sealed.key_nonce, sealed.wrapped_key, _wrap_context(sealed.name, sealed.key_id)
        )
    except (InvalidTag, ValueError):
        raise CredentialUnreadable(
            sealed.name, f"its data key failed authentication under master key {master.key_id}"
        ) from None
