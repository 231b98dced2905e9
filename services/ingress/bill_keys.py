"""The securityKeys of one BILL webhook subscription, kept together in the vault.

BILL shows a subscription's securityKey once, when the subscription is created or its key
rotated, and signs every delivery from then on with it. A rotation must not refuse the
deliveries already under way (a retry signed a moment before, a second ingress replica that
has not read the vault yet), so for an overlap window both the new key and the one before
verify; past the window only the current one does, and the next write drops the old key.

One vault credential per subscription (`credential_name`) holds the whole set as one sealed
JSON value: the current key, the previous key and until when it verifies, and the
subscription's organization and tenant. One record means a rotation is one write, so no
reader ever sees a new key without the old one's overlap. Nothing here logs a key; every key
read is registered with the log redactor.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from chassis.errors import PermanentError
from chassis.jsonlog import REDACTOR
from chassis.vault import CredentialVault

CREDENTIAL_PREFIX = "bill/subscriptions/"


def credential_name(subscription_id: str) -> str:
    """The vault name of a subscription's keys."""
    return f"{CREDENTIAL_PREFIX}{subscription_id}/security-keys"


class BillKeysUnreadable(PermanentError):
    """The vault holds something under a subscription's name that is not its keys."""


class BillSecurityKeys(BaseModel):
    """What verifies a subscription's deliveries, and whose events they are."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str = Field(min_length=1)
    organization_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    current: SecretStr
    previous: SecretStr | None = None
    previous_until: datetime | None = None
    """The end of the rotation's overlap: the previous key verifies before it only."""

    def verifying(self, now: datetime) -> list[SecretStr]:
        """The keys a delivery may be signed with at `now`: the current one first."""
        keys = [self.current]
        overlapping = self.previous_until is not None and now < self.previous_until
        if self.previous is not None and overlapping:
            keys.append(self.previous)
        return keys

    def rotated(self, new_key: SecretStr, *, now: datetime, overlap: timedelta) -> BillSecurityKeys:
        """The set after BILL rotated to `new_key`: the current key verifies for `overlap`
        more (none: at once retired); a key older than that is dropped."""
        if overlap <= timedelta(0):
            return self.model_copy(update={"current": new_key, "previous": None,
                                           "previous_until": None})  # fmt: skip
        return self.model_copy(
            update={"current": new_key, "previous": self.current, "previous_until": now + overlap}
        )

    def sealed_value(self) -> SecretStr:
        """The set as the one secret the vault seals."""
        return SecretStr(
            json.dumps(
                {
                    "subscription_id": self.subscription_id,
                    "organization_id": self.organization_id,
                    "tenant_id": self.tenant_id,
                    "current": self.current.get_secret_value(),
                    "previous": None if self.previous is None else self.previous.get_secret_value(),
                    "previous_until": None
                    if self.previous_until is None
                    else self.previous_until.isoformat(),
                }
            )
        )

    @classmethod
    def unsealed(cls, name: str, value: SecretStr) -> BillSecurityKeys:
        """The set the vault returned under `name`; every key is registered for redaction."""
        try:
            keys = cls.model_validate_json(value.get_secret_value())
        except ValidationError:
            # Never the validation's text: it would quote the value, keys included.
            raise BillKeysUnreadable(f"credential {name!r} does not hold BILL keys") from None
        REDACTOR.register(keys.current)
        REDACTOR.register(keys.previous)
        return keys


def store_keys(vault: CredentialVault, keys: BillSecurityKeys) -> None:
    """Seals and writes the set; returns once Kafka confirmed it (raises VaultError else)."""
    REDACTOR.register(keys.current)
    REDACTOR.register(keys.previous)
    vault.put(credential_name(keys.subscription_id), keys.sealed_value())


def read_keys(vault: CredentialVault, subscription_id: str) -> BillSecurityKeys:
    """The set as the vault holds it now (after `vault.load()`); CredentialNotFound if none."""
    name = credential_name(subscription_id)
    return BillSecurityKeys.unsealed(name, vault.get(name))
