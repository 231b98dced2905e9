"""What comes back from Airbase: payments ready to post to Visma, and webhook nudges.

- `AirbasePaymentReady` (`airbase.payment.v1`, key `<tenant>/<entry id>`): a payment ledger
  entry Airbase holds as `sync_ready`, read by the airbase-poller with the Visma invoice key of
  the bill it pays (the bill's `erp_reference_id`). An entry stays `sync_ready` until it is
  marked synced, so the poller reads it again and again: a version (`version`, a digest of the
  entry's content) is published once, and a changed entry is published again with its new
  version. The version is the same whichever path made the poller read it (schedule or
  webhook), so the event id (tenant, entry, version) is too.
- `AirbaseWebhookReceived` (`airbase.webhook.v1`, key tenant): an Airbase webhook the ingress
  stored before it answered. It is only a nudge: the poller pulls that tenant at once and
  reads the truth from the API.

`AirbasePaymentReady.from_airbase` reads a ledger entry and its bill in the contract's JSON
shape (our field names, after any profile renames), so every poll of the same content makes
the same fact. Airbase's payment entries are UNCONFIRMED (docs/airbase-poller.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Self

from chassis.topics import TopicSpec
from events._avro import AMOUNT_SCALE, AvroModel

AIRBASE_PARTITIONS = 6
AIRBASE_PAYMENTS = TopicSpec("airbase.payment.v1", partitions=AIRBASE_PARTITIONS)
AIRBASE_WEBHOOKS = TopicSpec("airbase.webhook.v1", partitions=AIRBASE_PARTITIONS)

Via = Literal["poll", "webhook"]
POLL: Via = "poll"
WEBHOOK: Via = "webhook"

_CONTENT_EXCLUDED = frozenset({"event_id", "version", "observed_at", "via"})
"""Fields of the fact that are not the entry's content: they never change its version."""


def payment_key(tenant_id: str, entry_id: str) -> str:
    """The key of every version of one payment entry."""
    return f"{tenant_id}/{entry_id}"


class AirbasePaymentLine(AvroModel):
    """One allocation line of a payment: where its amount is booked (Airbase's refs)."""

    line_number: int
    amount: Decimal
    account_ref: str | None = None
    """`expense_list[].account.erp_reference_id`: a Visma GL account number by the mapping."""
    department_ref: str | None = None
    """The line's department tag's `erp_reference_id`: a Visma cost center by the mapping."""
    description: str | None = None


class AirbasePaymentReady(AvroModel):
    SCHEMA = "io.mlconnector.airbase.AirbasePaymentReady"

    event_id: str
    """`<tenant>/<entry id>@<version>`: the same for every read of the same content."""
    tenant_id: str
    company_id: str
    """The Visma company the tenant's Airbase account books into."""
    entry_id: str
    """The ledger entry's `airbase_id`."""
    version: str
    """A digest of the entry's content (`content_version`)."""
    entry_type: str
    """Airbase's `type` (`bill_payment` for a paid bill)."""
    vendor_ref: str | None = None
    """`vendor.erp_reference_id`: the Visma supplier number."""
    vendor_name: str | None = None
    bill_id: str | None = None
    """The paid bill's `airbase_id` (`applied_to[]` with `transaction_type` bill)."""
    bill_ref: str | None = None
    """The bill's `erp_reference_id`: our Visma supplier invoice key, read from the bill."""
    invoice_number: str | None = None
    currency: str
    amount: Decimal
    payment_date: date
    lines: list[AirbasePaymentLine] = []
    bank_account_ref: str | None = None
    """`bank_account.erp_reference_id`: the account Airbase paid from (added to the contract,
    optional: the Visma writer may need the cash account)."""
    observed_at: datetime
    via: str
    """`poll` or `webhook` (`Via`): which path made the poller read it."""

    @property
    def key(self) -> str:
        return payment_key(self.tenant_id, self.entry_id)

    @classmethod
    def from_airbase(
        cls,
        entry: Mapping[str, Any],
        *,
        bill: Mapping[str, Any] | None,
        tenant_id: str,
        company_id: str,
        observed_at: datetime,
        via: Via,
    ) -> Self:
        """The fact of a ledger entry (and the bill it pays, None when it names none);
        a malformed entry is a ValueError."""
        content = _content(entry, bill=bill, tenant_id=tenant_id, company_id=company_id)
        unversioned = cls.model_validate(
            {**content, "event_id": "", "version": "", "observed_at": observed_at, "via": via}
        )
        # The digest of the validated content: "1" and 1, "12.5" and "12.50" are one version.
        version = unversioned.content_version()
        return unversioned.model_copy(
            update={"version": version, "event_id": f"{unversioned.key}@{version}"}
        )

    def content_version(self) -> str:
        """The version of this fact's content (equals `version` for a fact made here)."""
        return content_version(self.model_dump(exclude=set(_CONTENT_EXCLUDED)))


def content_version(content: Mapping[str, Any]) -> str:
    """A digest of a payment's content: amounts at the Avro scale, dates as ISO text, so
    `"12.5"` and `"12.50"` are one version and a changed amount, line or bill is another."""
    fields = {k: v for k, v in content.items() if k not in _CONTENT_EXCLUDED}
    text = json.dumps(_canonical(fields), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class AirbaseWebhookReceived(AvroModel):
    """An Airbase webhook, stored before it was acknowledged: a reason to pull, no more."""

    SCHEMA = "io.mlconnector.airbase.AirbaseWebhookReceived"

    event_id: str
    """Airbase's event `id` (`evt_...`): a redelivery has the same one."""
    tenant_id: str
    event_type: str
    """`bill_approved`, `bill_paid`, `purchase_request_approved`, ... (UNCONFIRMED names)."""
    object_type: str | None = None
    """`data.object`: bill, ledger_entry, ..."""
    object_id: str | None = None
    """`data.airbase_id`."""
    created_date: str | None = None
    """Airbase's `created_date`, as sent."""
    signed: bool
    """True when the signature was verified with the tenant's secret; False when the tenant
    has no secret configured (accepted: the pull reads the truth from the API)."""
    received_at: datetime

    @property
    def key(self) -> str:
        """One tenant's nudges stay in order on one partition."""
        return self.tenant_id


def _content(
    entry: Mapping[str, Any], *, bill: Mapping[str, Any] | None, tenant_id: str, company_id: str
) -> dict[str, Any]:
    vendor = _mapping(entry.get("vendor"))
    bill = bill or {}
    lines = entry.get("expense_list")
    return {
        "tenant_id": tenant_id,
        "company_id": company_id,
        "entry_id": _text(entry.get("airbase_id")),
        "entry_type": _text(entry.get("type")),
        "vendor_ref": _text(vendor.get("erp_reference_id")),
        "vendor_name": _text(vendor.get("name")),
        "bill_id": paid_bill_id(entry),
        "bill_ref": _text(bill.get("erp_reference_id")),
        "invoice_number": _text(entry.get("invoice_number") or bill.get("invoice_number")),
        "currency": _currency(entry),
        "amount": _decimal(entry.get("total_amount")),
        "payment_date": entry.get("payment_entry_date") or entry.get("entry_date"),
        "lines": [_line(n, line) for n, line in enumerate(lines, 1)]
        if isinstance(lines, list)
        else [],
        "bank_account_ref": _text(_mapping(entry.get("bank_account")).get("erp_reference_id")),
    }


def paid_bill_id(entry: Mapping[str, Any]) -> str | None:
    """The `airbase_id` of the bill a ledger entry applies to (`applied_to`), if any."""
    applied = entry.get("applied_to")
    if not isinstance(applied, list):
        return None
    for target in applied:
        target = _mapping(target)
        if target.get("transaction_type") == "bill":
            return _text(target.get("airbase_id") or target.get("id"))
    return None


def _currency(entry: Mapping[str, Any]) -> str | None:
    iso = _mapping(entry.get("currency")).get("iso_code")
    if iso:
        return str(iso)
    amount = _mapping(_mapping(entry.get("amounts")).get("amount"))
    return _text(amount.get("currency"))


def _line(number: int, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("an expense line is an object")
    tags = value.get("tags")
    department = next(
        (
            _mapping(tag)
            for tag in (tags if isinstance(tags, list) else [])
            if _mapping(tag).get("type") == "department"
        ),
        {},
    )
    return {
        "line_number": value.get("line_number") or number,
        "amount": _decimal(value.get("amount")),
        "account_ref": _text(_mapping(value.get("account")).get("erp_reference_id")),
        "department_ref": _text(department.get("erp_reference_id")),
        "description": _text(value.get("description")),
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    """Airbase ids may come as numbers; the facts keep them as text."""
    if value is None or value == "":
        return None
    return str(value)


def _decimal(value: Any) -> Decimal | None:
    """Airbase's amounts are strings (`"123.45"`): exact decimals, never a float's."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.quantize(AMOUNT_SCALE))
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value
