"""Twilio status callbacks for the ingress tests, signed the way Twilio signs them.

Signatures come from the official `twilio` package's `RequestValidator.compute_signature`
over the public URL and every parameter, never from the code under test.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "f1e2d3c4b5a697887766554433221100"
OTHER_ACCOUNT = "AC" + "fedcba9876543210" * 2
OTHER_TOKEN = "00112233445566778899aabbccddeeff"
PUBLIC_URL = "https://connector.example.com/webhooks/twilio/status"
SERVICE = "MG" + "a1" * 16


def message_sid(n: int) -> str:
    return f"SM{n:032x}"


def callback(
    sid: str,
    status: str,
    *,
    account: str = ACCOUNT,
    error_code: int | None = None,
    error_message: str | None = None,
    to: str = "+46701234567",
) -> dict[str, str]:
    """The parameters Twilio posts for one status of one outbound SMS."""
    form = {
        "AccountSid": account,
        "ApiVersion": "2010-04-01",
        "From": "+46769439999",
        "MessageSid": sid,
        "MessageStatus": status,
        "MessagingServiceSid": SERVICE,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": to,
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    if error_message is not None:
        form["ErrorMessage"] = error_message
    return form


def signed(
    form: dict[str, str], *, url: str = PUBLIC_URL, token: str = TOKEN
) -> tuple[bytes, dict[str, str]]:
    """The body and headers Twilio sends for `form` posted to `url`."""
    signature = RequestValidator(token).compute_signature(url, form)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": "not-read",
    }
    return urlencode(form).encode(), headers
