"""The ingress's Slack signature check agrees with slack-sdk's SignatureVerifier.

Both get the same request and the same clock: generated cases (valid, tampered body, wrong
secret, stale, future, at and just past the 5-minute edge) and hypothesis-generated ones
must get the same verdict. Requests the SDK cannot even judge (it raises on non-ASCII
header text) must be a refusal here, never an exception.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from slack_kit import SECRET, FixedClock, signature_of
from slack_sdk.signature import SignatureVerifier

from ingress.errors import RejectedNotificationError
from ingress.slack_signature import SlackSignature

pytestmark = pytest.mark.unit

NOW = 1_772_445_660
BODY = b'{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added"}}'


def ours_accepts(
    body: bytes, timestamp: str | None, signature: str | None, *, now: float = NOW
) -> bool:
    check = SlackSignature(SecretStr(SECRET), clock=FixedClock(now))
    status = 200
    try:
        check.verify(body, timestamp=timestamp, signature=signature)
    except RejectedNotificationError as refused:
        status = refused.status
    assert status in (200, 401)
    return status == 200


def sdk_accepts(
    body: bytes, timestamp: str | None, signature: str | None, *, now: float = NOW
) -> bool:
    return SignatureVerifier(SECRET, FixedClock(now)).is_valid(body, timestamp, signature)


def case(body: bytes = BODY, *, at: int = NOW, secret: str = SECRET, sent: bytes | None = None):
    """(body as sent, timestamp, signature): signed over `body`, sent as `sent`."""
    return (sent if sent is not None else body), str(at), signature_of(body, str(at), secret)


CASES = {
    "valid": (case(), True),
    "tampered-body": (case(sent=BODY.replace(b"Ev1", b"Ev2")), False),
    "appended-byte": (case(sent=BODY + b" "), False),
    "wrong-secret": (case(secret="another-apps-secret"), False),
    "stale-301s": (case(at=NOW - 301), False),
    "future-301s": (case(at=NOW + 301), False),
    "stale-1h": (case(at=NOW - 3600), False),
    "future-1h": (case(at=NOW + 3600), False),
    "edge-300s-old": (case(at=NOW - 300), True),
    "edge-300s-ahead": (case(at=NOW + 300), True),
    "empty-body": (case(b""), True),
    "unicode-body": (case('{"text":"godkänn ✅"}'.encode()), True),
}


@pytest.mark.parametrize(("request_", "valid"), CASES.values(), ids=CASES.keys())
def test_generated_cases_get_the_sdk_verdict(request_: tuple[bytes, str, str], valid: bool) -> None:
    body, timestamp, signature = request_
    assert sdk_accepts(body, timestamp, signature) is valid, "the case itself is mislabelled"
    assert ours_accepts(body, timestamp, signature) is valid


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        pytest.param(None, signature_of(BODY, str(NOW)), id="missing-timestamp"),
        pytest.param(str(NOW), None, id="missing-signature"),
        pytest.param(str(NOW), "", id="empty-signature"),
        pytest.param(str(NOW), signature_of(BODY, str(NOW))[3:], id="no-v0-prefix"),
        pytest.param(str(NOW), "v1=" + signature_of(BODY, str(NOW))[3:], id="other-version"),
        pytest.param(str(NOW), signature_of(BODY, str(NOW)).upper(), id="upper-case-hex"),
    ],
)
def test_missing_or_malformed_headers_are_refused_like_the_sdk(
    timestamp: str | None, signature: str | None
) -> None:
    assert sdk_accepts(BODY, timestamp, signature) is False
    assert ours_accepts(BODY, timestamp, signature) is False


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        pytest.param(str(NOW), signature_of(BODY, str(NOW))[:-1] + "é", id="non-ascii-signature"),
        pytest.param(str(NOW) + "é", signature_of(BODY, str(NOW) + "é"), id="non-ascii-timestamp"),
        pytest.param("noon", signature_of(BODY, "noon"), id="timestamp-not-a-number"),
        pytest.param("", signature_of(BODY, ""), id="empty-timestamp"),
    ],
)
def test_what_the_sdk_cannot_judge_is_a_refusal_not_an_exception(
    timestamp: str, signature: str
) -> None:
    with pytest.raises((TypeError, ValueError)):  # the SDK raises on these
        sdk_accepts(BODY, timestamp, signature)
    assert ours_accepts(BODY, timestamp, signature) is False


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b'{"text":"\xff"}'
    timestamp = str(NOW)
    assert ours_accepts(body, timestamp, signature_of(body, timestamp)) is False


@given(
    body=st.text(max_size=300).map(str.encode),
    secret=st.sampled_from([SECRET, "other-secret", SECRET + "x"]),
    skew=st.integers(min_value=-900, max_value=900),
    tamper=st.booleans(),
)
def test_hypothesis_cases_get_the_sdk_verdict(
    body: bytes, secret: str, skew: int, tamper: bool
) -> None:
    timestamp = str(NOW + skew)
    signature = signature_of(body, timestamp, secret)
    sent = body + b"!" if tamper else body
    assert ours_accepts(sent, timestamp, signature) is sdk_accepts(sent, timestamp, signature)


def test_refusals_say_why_without_the_secret() -> None:
    check = SlackSignature(SecretStr(SECRET), clock=FixedClock(NOW))
    reasons = []
    for body, timestamp, signature in (case(at=NOW - 301), case(secret="x")):
        with pytest.raises(RejectedNotificationError) as refused:
            check.verify(body, timestamp=timestamp, signature=signature)
        reasons.append(refused.value.reason)
    assert reasons == [
        "X-Slack-Request-Timestamp is more than 5 minutes off",
        "signature mismatch",
    ]
    assert SECRET not in repr(check)
