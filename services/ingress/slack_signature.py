"""Slack's request signature (v0), checked by the official slack-sdk `SignatureVerifier`.

The verifier computes `v0=` + hex(HMAC-SHA256(secret, "v0:{timestamp}:{raw body}")),
compares in constant time and refuses a timestamp more than 5 minutes from its clock. Here
only what would make it raise instead of answer is caught first (missing headers, header
text outside ASCII, a timestamp that is not a number, a body that is not UTF-8), so every
malformed request is a 401, never a 500.
"""

from __future__ import annotations

from pydantic import SecretStr
from slack_sdk.signature import Clock, SignatureVerifier

from ingress.errors import RejectedNotificationError

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
MAX_CLOCK_SKEW_SECONDS = 300  # the verifier's own window, used here only to explain a refusal


class SlackSignature:
    def __init__(self, signing_secret: SecretStr, *, clock: Clock | None = None) -> None:
        self._clock = clock or Clock()
        self._verifier = SignatureVerifier(signing_secret.get_secret_value(), self._clock)

    def __repr__(self) -> str:
        return "SlackSignature(signing_secret=SecretStr('**********'))"

    def verify(self, body: bytes, *, timestamp: str | None, signature: str | None) -> None:
        """Returns if Slack signed this body at this time; raises a 401 refusal otherwise."""
        if not timestamp:
            raise RejectedNotificationError(401, f"missing {TIMESTAMP_HEADER}")
        if not signature:
            raise RejectedNotificationError(401, f"missing {SIGNATURE_HEADER}")
        # compare_digest raises on non-ASCII text, and a header can carry any byte.
        if not (timestamp.isascii() and signature.isascii()):
            raise RejectedNotificationError(401, "signature headers are not ASCII")
        try:
            valid = self._verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError as exc:
            raise RejectedNotificationError(401, "the body is not UTF-8") from exc
        except ValueError as exc:  # int(timestamp)
            raise RejectedNotificationError(401, f"{TIMESTAMP_HEADER} is not a number") from exc
        if not valid:
            raise RejectedNotificationError(401, self._why_invalid(timestamp))

    def _why_invalid(self, timestamp: str) -> str:
        if abs(self._clock.now() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            return f"{TIMESTAMP_HEADER} is more than 5 minutes off"
        return "signature mismatch"
