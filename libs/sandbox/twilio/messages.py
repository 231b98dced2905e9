"""The Message resource: what the sandbox keeps for each SMS and how Twilio renders it.

Field names, types and formats follow the ``api.v2010.account.message`` schema of
Twilio's OpenAPI spec: dates in RFC 2822 with ``+0000``, ``num_segments``/``num_media`` and
``price`` as strings, ``error_code`` an integer or null, ``uri`` and ``subresource_uris``
relative to the API root. A message carries the transitions still ahead of it (its plan);
the state applies them when the sandbox clock reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

API_VERSION = "2010-04-01"
PRICE_PER_SEGMENT = 0.0079


def rfc2822(epoch: float | None) -> str | None:
    """A timestamp as Twilio writes it: ``Fri, 24 May 2019 17:44:46 +0000``."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


@dataclass(frozen=True)
class Transition:
    at: float
    """Sandbox epoch seconds when the message takes this status."""
    status: str
    error_code: int | None = None
    error_message: str | None = None


@dataclass
class Message:
    sid: str
    sequence: int
    account_sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status_callback: str | None
    num_segments: int
    date_created: float
    status: str
    plan: list[Transition]
    date_updated: float = 0.0
    date_sent: float | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    history: list[str] = field(default_factory=list)
    """Every status it has had, in order (for tests and the admin view)."""

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def as_resource(self) -> dict[str, object]:
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": self.price,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri,
        }

    def apply(self, step: Transition, *, sender: str | None) -> None:
        """Takes the next status of its plan (a Messaging Service picks its sender now)."""
        self.status = step.status
        self.date_updated = step.at
        self.history.append(step.status)
        if self.from_ is None:
            self.from_ = sender
        if self.date_sent is None and step.status in {"sent", "failed"}:
            self.date_sent = step.at
            self.price = f"-{PRICE_PER_SEGMENT * self.num_segments:.5f}"
        if step.error_code is not None:
            self.error_code = step.error_code
            self.error_message = step.error_message
