"""Slack's request signature (v0), checked by the official slack-sdk `SignatureVerifier`.

The verifier computes `v0=` + hex(HMAC-SHA256(secret, "v0:{timestamp}:{raw body}")),
compares in constant time and refuses a timestamp more than 5 minutes from its clock. It
converts the timestamp with `int()` and subtracts it from a float, so a header it was not
written for raises instead of answering (a 309-digit timestamp overflows the float). Both
headers are therefore read into a bounded model first: whole seconds of at most 12 digits,
and `v0=` with 64 hex digits. Anything else, like a body that is not UTF-8, is a 401.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from slack_sdk.signature import Clock, SignatureVerifier

from ingress.errors import RejectedNotificationError

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
MAX_CLOCK_SKEW_SECONDS = 300  # the verifier's own window, used here only to explain a refusal
_EXPLAINED = {
    TIMESTAMP_HEADER: "must be whole seconds since the epoch (at most 12 digits)",
    SIGNATURE_HEADER: "must be v0= followed by 64 lowercase hex digits",
}


class _SignatureHeaders(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    # str with an ASCII pattern, not int: int() would accept "+1", " 1", "1_0" and other digits.
    timestamp: str = Field(alias=TIMESTAMP_HEADER, pattern=r"^[0-9]{1,12}$", max_length=12)
    signature: str = Field(alias=SIGNATURE_HEADER, pattern=r"^v0=[0-9a-f]{64}$", max_length=67)


class SlackSignature:
    def __init__(self, signing_secret: SecretStr, *, clock: Clock | None = None) -> None:
        self._clock = clock or Clock()
        self._verifier = SignatureVerifier(signing_secret.get_secret_value(), self._clock)

    def __repr__(self) -> str:
        return "SlackSignature(signing_secret=SecretStr('**********'))"

    def verify(self, body: bytes, *, timestamp: str | None, signature: str | None) -> None:
        """Returns if Slack signed this body at this time; raises a 401 refusal otherwise."""
        headers = _read_headers(timestamp=timestamp, signature=signature)
        try:
            valid = self._verifier.is_valid(body, headers.timestamp, headers.signature)
        except UnicodeDecodeError as exc:
            raise RejectedNotificationError(401, "the body is not UTF-8") from exc
        if not valid:
            raise RejectedNotificationError(401, self._why_invalid(int(headers.timestamp)))

    def _why_invalid(self, timestamp: int) -> str:
        if abs(self._clock.now() - timestamp) > MAX_CLOCK_SKEW_SECONDS:
            return f"{TIMESTAMP_HEADER} is more than 5 minutes off"
        return "signature mismatch"


def _read_headers(*, timestamp: str | None, signature: str | None) -> _SignatureHeaders:
    for name, value in ((TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)):
        if not value:
            raise RejectedNotificationError(401, f"missing {name}")
    try:
        return _SignatureHeaders.model_validate(
            {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
        )
    except ValidationError as exc:
        name = str(exc.errors(include_input=False)[0]["loc"][0])
        raise RejectedNotificationError(401, f"{name} {_EXPLAINED[name]}") from None
