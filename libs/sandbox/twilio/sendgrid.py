"""The SendGrid v3 Mail Send simulator's state and rules (routes in ``sendgrid_app``).

``POST /v3/mail/send`` takes ``Authorization: Bearer SG...``: no key is 401 "authorization
required", an unknown or revoked one 401 "The provided authorization grant is invalid,
expired, or revoked", a key without the ``mail.send`` scope 403 "access forbidden". Each
key may send ``rate_limit`` requests per window (sandbox clock); past it the answer is 429
with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (the epoch
second, in real time, when the window ends, so a client waiting for it is right at any clock
speed). A body SendGrid would refuse gets 400 with every problem found as
``{"errors": [{"message", "field", "help"}]}``, worded as SendGrid's Mail Send errors page
words them. An accepted send is 202 with an empty body and an ``X-Message-Id``.

``GET /v3/scopes`` answers any valid key with ``{"scopes": [...]}``, the key's own scopes
(SendGrid's API Keys reference: "Retrieve a list of scopes for which this user has
access"); it changes nothing.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from chassis.errors import ConnectorError
from sandbox.clock import SandboxClock
from sandbox.faults import FaultInjector
from sandbox.twilio.config import SendGridConfig

HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_PERSONALIZATIONS = 1000

FROM_REQUIRED = (
    "The from object must be provided for every email send. It is an object that requires the"
    ' email parameter, but may also contain a name parameter.  e.g. {"email" :'
    ' "example@example.com"}  or {"email" : "example@example.com", "name" : "Example'
    ' Recipient"}.'
)
SUBJECT_REQUIRED = (
    "The subject is required. You can get around this requirement if you use a template with a"
    " subject defined or if every personalization has a subject defined."
)
CONTENT_REQUIRED = (
    "Unless a valid template_id is provided, the content parameter is required. There must be at"
    " least one defined content block. We typically suggest both text/plain and text/html blocks"
    " are included, but only one block is required."
)
TO_REQUIRED = (
    "The to array is required for all personalization objects, and must have at least one email"
    " object with a valid email address."
)
CONTENT_ORDER = (
    "If present, text/plain must be first, followed by text/html, followed by any other content."
)


class SendGridRefusal(ConnectorError):
    """An answer other than 202 the simulated SendGrid gives: status, error list, headers."""

    def __init__(
        self, status: int, errors: list[dict[str, object]], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def problem(message: str, field: str | None, anchor: str | None = None) -> dict[str, object]:
    return {"message": message, "field": field, "help": f"{HELP}#{anchor}" if anchor else None}


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    key_hint: str
    """The key's first characters only: a sandbox keeps no secret in its records either."""
    sender: str
    recipients: list[str]
    subject: str | None
    content: list[dict[str, str]]
    categories: list[str]
    custom_args: dict[str, str]
    received_at: float

    def as_dict(self) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "key_hint": self.key_hint,
            "from": self.sender,
            "to": self.recipients,
            "subject": self.subject,
            "content": self.content,
            "categories": self.categories,
            "custom_args": self.custom_args,
            "received_at": self.received_at,
        }


@dataclass
class SendGridStats:
    accepted: int = 0
    refused: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {"accepted": self.accepted, "refused": {str(k): v for k, v in self.refused.items()}}


def _recipients(personalizations: list[object], found: list[dict[str, object]]) -> list[str]:
    recipients: list[str] = []
    for i, item in enumerate(personalizations):
        to = item.get("to") if isinstance(item, dict) else None
        if not isinstance(to, list) or not to:
            found.append(
                problem(TO_REQUIRED, f"personalizations.{i}.to", "message.personalizations.to")
            )
            continue
        for j, address in enumerate(to):
            email = address.get("email") if isinstance(address, dict) else None
            if not isinstance(email, str) or not EMAIL.match(email):
                found.append(
                    problem(
                        "Does not contain a valid address.", f"personalizations.{i}.to.{j}.email"
                    )
                )
            else:
                recipients.append(email)
    return recipients


def _content(body: dict[str, object], found: list[dict[str, object]]) -> list[dict[str, str]]:
    content = body.get("content")
    if not isinstance(content, list) or not content:
        if not body.get("template_id"):
            found.append(problem(CONTENT_REQUIRED, "content", "message.content"))
        return []
    blocks: list[dict[str, str]] = []
    for i, block in enumerate(content):
        value = block.get("value") if isinstance(block, dict) else None
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(value, str) or not value:
            message = "The content value must be a string at least one character in length."
            found.append(problem(message, f"content.{i}.value", "message.content.value"))
            continue
        blocks.append({"type": str(kind), "value": value})
    types = [b["type"] for b in blocks]
    expected = [t for t in ("text/plain", "text/html") if t in types]
    if types[: len(expected)] != expected:
        found.append(problem(CONTENT_ORDER, "content", "message.content"))
    return blocks


def validate(body: object) -> tuple[str, list[str], str | None, list[dict[str, str]]]:
    """(from, recipients, subject, content blocks) of a valid body, else a 400 refusal."""
    if not isinstance(body, dict):
        raise SendGridRefusal(400, [problem("Bad Request", None)])
    found: list[dict[str, object]] = []
    personalizations = body.get("personalizations")
    recipients: list[str] = []
    if not isinstance(personalizations, list) or not personalizations:
        message = (
            "The personalizations field is required and must have at least one personalization."
        )
        found.append(problem(message, "personalizations", "-Personalizations-Errors"))
        personalizations = []
    elif len(personalizations) > MAX_PERSONALIZATIONS:
        message = (
            f"The personalization block is limited to 1000 personalizations per API request."
            f" You have provided {len(personalizations)} personalizations. Please consider"
            " splitting this into multiple requests and resending your request."
        )
        found.append(problem(message, "personalizations", "-Personalizations-Errors"))
    else:
        recipients = _recipients(personalizations, found)
    sender_obj = body.get("from")
    sender = sender_obj.get("email") if isinstance(sender_obj, dict) else None
    if not isinstance(sender, str) or not sender:
        found.append(problem(FROM_REQUIRED, "from.email", "message.from"))
    elif not EMAIL.match(sender):
        found.append(
            problem(
                "The from email does not contain a valid address.", "from.email", "message.from"
            )
        )
    subject = body.get("subject")
    every_has_subject = bool(personalizations) and all(
        isinstance(p, dict) and p.get("subject") for p in personalizations
    )
    if not subject and not body.get("template_id") and not every_has_subject:
        found.append(problem(SUBJECT_REQUIRED, "subject", "message.subject"))
    content = _content(body, found)
    if found:
        raise SendGridRefusal(400, found)
    return str(sender), recipients, str(subject) if subject else None, content


class SendGridState:
    def __init__(self, config: SendGridConfig, clock: SandboxClock, *, seed: int = 0) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultInjector(seed=seed, clock=clock)
        self.keys: dict[str, list[str]] = {
            k.key.get_secret_value(): list(k.scopes) for k in config.keys
        }
        self.revoked: set[str] = set()
        self.reset()

    def reset(self) -> None:
        self.sent: list[SentEmail] = []
        self.stats = SendGridStats()
        self._windows: dict[str, tuple[float, int]] = {}

    def identify(self, header: str | None) -> str:
        """The caller's key, if it is a valid one (any scopes); else 401."""
        scheme, _, key = (header or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise SendGridRefusal(401, [problem("authorization required", None)])
        if key not in self.keys or key in self.revoked:
            message = "The provided authorization grant is invalid, expired, or revoked"
            raise SendGridRefusal(401, [problem(message, None)])
        return key

    def authorize(self, header: str | None) -> str:
        """The caller's key, if it may send mail; else 401 or 403."""
        key = self.identify(header)
        if "mail.send" not in self.keys[key]:
            raise SendGridRefusal(403, [problem("access forbidden", None)])
        return key

    def take_rate(self, key: str) -> None:
        now = self.clock.time()
        start, used = self._windows.get(key, (now, 0))
        window = self.config.rate_window_seconds
        if now >= start + window:
            start, used = now, 0
        limit = self.config.rate_limit
        if used >= limit:
            speed = self.clock.speed
            real_left = (start + window - now) / speed if speed > 0 else window
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time() + real_left) + 1),
            }
            raise SendGridRefusal(429, [problem("too many requests", None)], headers)
        self._windows[key] = (start, used + 1)

    def accept(self, key: str, body: dict[str, object]) -> SentEmail:
        sender, recipients, subject, content = validate(body)
        categories = body.get("categories")
        custom_args = body.get("custom_args")
        email = SentEmail(
            message_id=secrets.token_urlsafe(16),
            key_hint=key[:6],
            sender=sender,
            recipients=recipients,
            subject=subject,
            content=content,
            categories=[str(c) for c in categories] if isinstance(categories, list) else [],
            custom_args=(
                {str(k): str(v) for k, v in custom_args.items()}
                if isinstance(custom_args, dict)
                else {}
            ),
            received_at=self.clock.time(),
        )
        self.sent.append(email)
        self.stats.accepted += 1
        return email
