"""Seeded hostile traffic for the ingress: every route, each request with the answers allowed.

One `Traffic` draws requests from a `random.Random(seed)`, so a failing run repeats. Each
`Attempt` says which answers are correct for it and, for the few that must be stored, the
id Kafka must then hold exactly once: valid and replayed deliveries, forged and stale ones,
malformed and huge headers and bodies, extreme numbers, wrong content types and methods.
Slack signing follows Slack's documented recipe (slack_kit), Visma's the HMAC-SHA256 base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.unit.ingress.slack_kit import envelope, reaction, signature_of, thread_reply

SLACK_SECRET = "fuzz-slack-signing-secret-0f3b"
VISMA_SECRET = "whsec-fuzz-visma-key-77a1"
SLACK = "/webhooks/slack"
VISMA = "/webhooks/visma"
Headers = list[tuple[bytes, bytes]]
# Bytes an HTTP client may put in a header value (visible ASCII and obs-text), so hostile
# values reach the server rather than being refused by the test's own client.
HEADER_BYTES = [*range(0x21, 0x7F), *range(0x80, 0x100)]


@dataclass
class Attempt:
    kind: str
    method: str
    path: str
    headers: Headers
    body: bytes = b""
    allowed: frozenset[int] = frozenset({200})
    slack_event: str | None = None
    """The Slack event id that must be stored once because of this request."""
    visma_note: str | None = None
    """The Visma notification id (sha256 of the body) that must be stored once."""
    forged: bool = False
    """Forged or stale: must never be answered 2xx."""


def visma_signature(body: bytes, secret: str = VISMA_SECRET) -> bytes:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())


def _slack_headers(body: bytes, *, at: float, secret: str = SLACK_SECRET) -> Headers:
    timestamp = str(int(at))
    return [
        (b"content-type", b"application/json"),
        (b"x-slack-request-timestamp", timestamp.encode()),
        (b"x-slack-signature", signature_of(body, timestamp, secret).encode()),
    ]


REPLAY_WITHIN = 240.0
"""Seconds: a replayed Slack request is this fresh at most, well inside Slack's 5 minutes."""


def _signed_at(attempt: Attempt) -> float:
    return float(dict(attempt.headers)[b"x-slack-request-timestamp"])


@dataclass
class Traffic:
    seed: int
    run: str
    rng: random.Random = field(init=False)
    counter: int = 0
    _slack_sent: list[Attempt] = field(default_factory=list)
    _visma_sent: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def next(self, *, broker_up: bool = True) -> Attempt:
        """The next request; made when it is about to be sent, so its Slack timestamp is
        as fresh (or as stale) as intended however long the run takes."""
        kinds = self._kinds(broker_up)
        weights = [weight for weight, _ in kinds]
        return self.rng.choices(kinds, weights)[0][1]()

    def _kinds(self, broker_up: bool) -> list[tuple[int, Callable[[], Attempt]]]:
        stored = frozenset({200}) if broker_up else frozenset({503})
        return [
            (10, lambda: self.slack_valid(stored)),
            (6, self.slack_replay),
            (6, lambda: self.visma_valid(stored)),
            (6, self.visma_replay),
            (6, self.slack_forged),
            (6, self.slack_stale),
            (6, self.slack_bad_timestamp),
            (4, self.slack_bad_signature),
            (8, self.slack_extreme),
            (5, self.slack_malformed),
            (3, self.slack_not_acted_on),
            (5, self.visma_forged),
            (6, self.visma_extreme),
            (4, self.visma_malformed),
            (4, self.wrong_content_type),
            (3, lambda: self.wrong_content_type_signed(stored)),
            (4, self.huge_header),
            (1, self.huge_body),
            (1, self.huge_streamed_body),
            (3, self.wrong_method),
            (2, self.unknown_path),
            (2, self.probe),
        ]

    def _next_id(self) -> str:
        self.counter += 1
        return f"Ev{self.run}{self.counter:07d}"

    # ---- what must be stored (or 503 with the broker down) --------------------------------

    def slack_valid(self, allowed: frozenset[int]) -> Attempt:
        event_id = self._next_id()
        event = reaction(ts=f"1772445600.{self.counter:06d}") if self.rng.random() < 0.6 else (
            thread_reply(text=self._text()))  # fmt: skip
        body = envelope(event, event_id=event_id)
        attempt = Attempt("slack_valid", "POST", SLACK, _slack_headers(body, at=time.time()),
                          body, allowed, slack_event=event_id)  # fmt: skip
        if allowed == {200}:
            self._slack_sent.append(attempt)
        return attempt

    def slack_replay(self) -> Attempt:
        """The same signed request again, within Slack's 5 minutes: acknowledged, never stored
        twice. Only an original signed less than REPLAY_WITHIN ago is replayed: on a loaded
        machine the run outlasts 5 minutes, and an older replay is rightly refused as stale."""
        fresh = [a for a in self._slack_sent if time.time() - _signed_at(a) < REPLAY_WITHIN]
        if not fresh:
            return self.slack_forged()
        original = self.rng.choice(fresh)
        return Attempt("slack_replay", "POST", SLACK, original.headers, original.body)

    def visma_valid(self, allowed: frozenset[int]) -> Attempt:
        note = {
            "tenantId": f"tenant-{self.rng.randrange(5)}", "companyId": f"company-{self.run}",
            "entity": self.rng.choice(["supplierInvoice", "supplier", "purchaseOrder"]),
            "id": f"Invoice:{self.counter}-{self.rng.randrange(10**9)}", "event": "updated",
            "timestamp": "2026-03-02T10:00:00Z",
        }  # fmt: skip
        body = json.dumps(note).encode()
        attempt = Attempt("visma_valid", "POST", VISMA,
                          [(b"x-visma-signature", visma_signature(body))], body, allowed,
                          visma_note=hashlib.sha256(body).hexdigest())  # fmt: skip
        if allowed == {200}:
            self._visma_sent.append(attempt)
        return attempt

    def visma_replay(self) -> Attempt:
        """A captured notification replayed: acknowledged, stored once, so pulled once."""
        if not self._visma_sent:
            return self.visma_forged()
        original = self.rng.choice(self._visma_sent)
        return Attempt("visma_replay", "POST", VISMA, original.headers, original.body)

    def wrong_content_type_signed(self, allowed: frozenset[int]) -> Attempt:
        """The signature, not the content type, says Slack sent it."""
        attempt = self.slack_valid(allowed)
        attempt.kind = "slack_signed_text_plain"
        attempt.headers = [(b"content-type", b"text/plain; charset=latin-1"), *attempt.headers[1:]]
        return attempt

    # ---- forged and stale: never 2xx --------------------------------------------------------

    def slack_forged(self) -> Attempt:
        body = envelope(reaction(), event_id=self._next_id())
        secret = self.rng.choice(["", "x", SLACK_SECRET + "x", SLACK_SECRET[:-1]]) or "guess"
        return Attempt("slack_forged", "POST", SLACK, _slack_headers(body, at=time.time(),
                       secret=secret), body, frozenset({401}), forged=True)  # fmt: skip

    def slack_stale(self) -> Attempt:
        body = envelope(reaction(), event_id=self._next_id())
        skew = self.rng.choice([301, 302, 900, 86_400, 10**8, 1_700_000_000])
        # A request sent late only grows staler; one from the future must stay far enough
        # ahead for the time it may wait in the client's queue.
        at = time.time() - skew if self.rng.random() < 0.6 else time.time() + skew + 60
        return Attempt("slack_stale", "POST", SLACK, _slack_headers(body, at=max(at, 0)), body,
                       frozenset({401}), forged=True)  # fmt: skip

    def slack_bad_timestamp(self) -> Attempt:
        body = envelope(reaction(), event_id=self._next_id())
        digits = "".join(self.rng.choices("0123456789", k=self.rng.randint(13, 4000)))
        raw = self.rng.choice([
            digits.encode(), b"9" * 309, b"-" + digits[:10].encode(), b"+1772445660",
            b"1_772_445_660", b"1e9", b"0x69a5", "١٧٧٢٤٤٥٦٦٠".encode(), b"\xff\xfe",
            b"NaN", b"1772445660.5", b"",
        ])  # fmt: skip
        signature = signature_of(body, raw.decode("latin-1"), SLACK_SECRET).encode()
        headers = [(b"content-type", b"application/json"), (b"x-slack-request-timestamp", raw),
                   (b"x-slack-signature", signature)]  # fmt: skip
        return Attempt("slack_bad_timestamp", "POST", SLACK, headers, body,
                       frozenset({400, 401}), forged=True)  # fmt: skip

    def slack_bad_signature(self) -> Attempt:
        body = envelope(reaction(), event_id=self._next_id())
        headers = _slack_headers(body, at=time.time())
        bad = self.rng.choice([
            b"v0=" + b"a" * self.rng.randint(0, 9000), b"v0=" + b"g" * 64, b"v1=" + b"0" * 64,
            bytes(self.rng.choice(HEADER_BYTES) for _ in range(self.rng.randint(1, 300))),
        ])  # fmt: skip
        headers[2] = (b"x-slack-signature", bad)
        return Attempt("slack_bad_signature", "POST", SLACK, headers, body,
                       frozenset({400, 401}), forged=True)  # fmt: skip

    def visma_forged(self) -> Attempt:
        body = json.dumps({"tenantId": "t", "companyId": "c", "entity": "supplier"}).encode()
        signature = self.rng.choice([
            visma_signature(body, "not-the-key"), visma_signature(body + b" "), b"",
            b"A" * self.rng.randint(1, 20_000), visma_signature(body)[:-3] + b"\xe9==",
        ])  # fmt: skip
        headers = [(b"x-visma-signature", signature)] if signature else []
        return Attempt("visma_forged", "POST", VISMA, headers, body, frozenset({401}),
                       forged=True)  # fmt: skip

    # ---- signed, but extreme or malformed: 400 ----------------------------------------------

    def slack_extreme(self) -> Attempt:
        document = json.loads(envelope(reaction(), event_id=self._next_id()))
        retry: bytes | None = None
        choice = self.rng.randrange(4)
        if choice == 0:
            document["event_time"] = self.rng.choice(
                [1e20, -1e15, -1, 10**30, 1.5e300, 253_402_300_800, -(10**400)]
            )
        elif choice == 1:
            retry = self.rng.choice([b"9" * 30, b"2147483648", b"-1", b"1001", b"x", b"1.0"])
        elif choice == 2:
            document["event"]["item"]["ts"] = "1" * self.rng.randint(65, 200_000)
        else:
            field_name = self.rng.choice(["user", "reaction", "type"])
            document["event"][field_name] = "u" * self.rng.randint(256, 100_000)
        body = json.dumps(document).encode()
        headers = _slack_headers(body, at=time.time())
        if retry is not None:
            headers.append((b"x-slack-retry-num", retry))
        return Attempt("slack_extreme", "POST", SLACK, headers, body, frozenset({400}))

    def slack_malformed(self) -> Attempt:
        body = self.rng.choice([
            b"", b"{", b"[]", b"null", b'{"type": 5}', b"[" * 100_000, b'{"type":"\\ud800"}',
            b'{"type":"event_callback"}', b'{"type":"url_verification"}', b"\xff" * 100,
            bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 5000))),
            b'{"type":"event_callback","event_id":"E","team_id":"T","event":{"type":"a\x00"}}',
        ])  # fmt: skip
        return Attempt("slack_malformed", "POST", SLACK, _slack_headers(body, at=time.time()),
                       body, frozenset({400, 401}))  # fmt: skip

    def slack_not_acted_on(self) -> Attempt:
        if self.rng.random() < 0.5:
            body = json.dumps({"type": "url_verification", "challenge": "c" * 40}).encode()
        else:
            body = envelope({"type": "app_mention", "text": "hi"}, event_id=self._next_id())
        return Attempt("slack_not_acted_on", "POST", SLACK, _slack_headers(body, at=time.time()),
                       body)  # fmt: skip

    def visma_extreme(self) -> Attempt:
        note: dict[str, Any] = {"tenantId": "t", "companyId": "c", "entity": "supplier"}
        name = self.rng.choice(["tenantId", "companyId", "entity", "id", "event", "timestamp"])
        hostile: list[Any] = ["x" * self.rng.randint(256, 200_000), 10**400, -1e308, [], {"a": 1}]
        if name in ("tenantId", "companyId", "entity"):
            hostile += [None, ""]  # required and non-empty
        note[name] = self.rng.choice(hostile)
        body = json.dumps(note).encode()
        return Attempt("visma_extreme", "POST", VISMA,
                       [(b"x-visma-signature", visma_signature(body))], body,
                       frozenset({400}))  # fmt: skip

    def visma_malformed(self) -> Attempt:
        body = self.rng.choice([b"", b"{", b"[]", b"\xff\xfe", b"{" * 50_000, b'{"tenantId":1}',
                                bytes(self.rng.randrange(256) for _ in range(200))])  # fmt: skip
        return Attempt("visma_malformed", "POST", VISMA,
                       [(b"x-visma-signature", visma_signature(body))], body,
                       frozenset({400}))  # fmt: skip

    # ---- transport-level hostility ----------------------------------------------------------

    def wrong_content_type(self) -> Attempt:
        path = self.rng.choice([SLACK, VISMA])
        content_type = self.rng.choice([b"text/plain", b"application/x-www-form-urlencoded",
                                        b"multipart/form-data; boundary=x",
                                        b"\xe9t\xe9"])  # fmt: skip
        body = self.rng.choice([b"payload=%7B%7D", b"--x\r\n\r\n--x--", b"hello"])
        return Attempt("wrong_content_type", "POST", path, [(b"content-type", content_type)],
                       body, frozenset({400, 401}), forged=True)  # fmt: skip

    def huge_header(self) -> Attempt:
        body = envelope(reaction(), event_id=self._next_id())
        headers = _slack_headers(body, at=time.time(), secret="not-the-signing-secret")
        size = self.rng.choice([9_000, 30_000, 70_000, 200_000])
        name = self.rng.choice([b"x-slack-signature", b"x-slack-request-timestamp", b"x-padding"])
        headers = [h for h in headers if h[0] != name] + [(name, b"7" * size)]
        return Attempt("huge_header", "POST", self.rng.choice([SLACK, VISMA]), headers, body,
                       frozenset({400, 401, 413, 431}), forged=True)  # fmt: skip

    def huge_body(self) -> Attempt:
        size = self.rng.choice([300_000, 1_100_000, 3_000_000])  # 3 MB: over 1 MiB stored
        body = b'{"type":"event_callback","pad":"' + b"p" * size + b'"}'
        path = self.rng.choice([SLACK, VISMA])
        headers = (_slack_headers(body, at=time.time()) if path == SLACK
                   else [(b"x-visma-signature", visma_signature(body))])  # fmt: skip
        return Attempt("huge_body", "POST", path, headers, body, frozenset({413}))

    def huge_streamed_body(self) -> Attempt:
        """Marked for streaming (no Content-Length) by the driver."""
        attempt = self.huge_body()
        attempt.kind = "huge_streamed_body"
        return attempt

    def wrong_method(self) -> Attempt:
        method = self.rng.choice(["GET", "PUT", "DELETE", "PATCH"])
        return Attempt("wrong_method", method, self.rng.choice([SLACK, VISMA]), [], b"",
                       frozenset({405}))  # fmt: skip

    def unknown_path(self) -> Attempt:
        paths = ["/", "/webhooks", "/webhooks/no-such-system", "/" + "a" * 5000, "/%00"]
        path = self.rng.choice(paths)
        return Attempt("unknown_path", "POST", path, [], b"{}", frozenset({404, 405}))

    def probe(self) -> Attempt:
        return Attempt("probe", "GET", self.rng.choice(["/healthz", "/metrics"]), [])

    def _text(self) -> str:
        return "".join(self.rng.choices('approve ✅ godkänn "\\\n', k=self.rng.randint(1, 400)))
