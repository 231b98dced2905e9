"""The SendGrid v3 Mail Send simulator answers as SendGrid's API reference describes.

202 with an empty body and an `X-Message-Id` for a valid mail; 400 with every problem in
`{"errors": [{"message", "field", "help"}]}`; 401 without or with a wrong key, 403 for a key
without `mail.send`; 429 with the `X-RateLimit-*` headers past the key's limit, and the
window reopening on the sandbox clock. The admin API shows what was accepted.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sandbox_kit import frozen_config

from sandbox import create_app
from sandbox.twilio.config import DEMO_SENDGRID_KEY

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

SEND = "/sendgrid/v3/mail/send"
AUTH = {"Authorization": f"Bearer {DEMO_SENDGRID_KEY}"}
MAIL: dict[str, object] = {
    "personalizations": [{"to": [{"email": "ap.manager@nordic-demo.example", "name": "AP"}]}],
    "from": {"email": "alerts@nordic-demo.example", "name": "ml-connector"},
    "subject": "Payments of 2026-03-02",
    "content": [
        {"type": "text/plain", "value": "3 payments cleared"},
        {"type": "text/html", "value": "<p>3 payments cleared</p>"},
    ],
    "custom_args": {"command_id": "cmd-1"},
}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    config = frozen_config().model_copy(deep=True)
    config.sendgrid.rate_limit = 3
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        yield c


async def test_a_valid_mail_is_accepted_with_a_message_id(client: httpx.AsyncClient) -> None:
    response = await client.post(SEND, json=MAIL, headers=AUTH)
    assert response.status_code == 202
    assert response.content == b""
    message_id = response.headers["X-Message-Id"]
    assert len(message_id) >= 16
    sent = (await client.get("/sendgrid/_sandbox/emails")).json()
    assert [e["message_id"] for e in sent] == [message_id]
    assert sent[0]["to"] == ["ap.manager@nordic-demo.example"]
    assert [c["type"] for c in sent[0]["content"]] == ["text/plain", "text/html"]
    assert sent[0]["custom_args"] == {"command_id": "cmd-1"}
    assert DEMO_SENDGRID_KEY not in str(sent)


async def test_a_refused_body_lists_every_problem(client: httpx.AsyncClient) -> None:
    bad = {
        "personalizations": [{"to": [{"email": "not-an-address"}]}, {"cc": []}],
        "from": {"name": "no address"},
        "content": [
            {"type": "text/html", "value": "<p>x</p>"},
            {"type": "text/plain", "value": "x"},
        ],
    }
    response = await client.post(SEND, json=bad, headers=AUTH)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert all(set(e) == {"message", "field", "help"} for e in errors)
    assert {e["field"] for e in errors} == {
        "personalizations.0.to.0.email", "personalizations.1.to", "from.email", "subject",
        "content",
    }  # fmt: skip
    assert (await client.get("/sendgrid/_sandbox/emails")).json() == []


async def test_no_content_and_no_personalizations(client: httpx.AsyncClient) -> None:
    response = await client.post(
        SEND, json={"from": {"email": "a@b.example"}, "subject": "s"}, headers=AUTH
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"personalizations", "content"}
    not_json = await client.post(SEND, content=b"{", headers=AUTH)
    assert not_json.status_code == 400
    assert not_json.json() == {"errors": [{"message": "Bad Request", "field": None, "help": None}]}


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "authorization required"),
        (
            {"Authorization": "Bearer SG.unknown"},
            401,
            "The provided authorization grant is invalid, expired, or revoked",
        ),
        ({"Authorization": "Bearer SG.read-only"}, 403, "access forbidden"),
    ],
)
async def test_keys(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, message: str
) -> None:
    await client.post(
        "/sendgrid/_sandbox/keys", json={"key": "SG.read-only", "scopes": ["stats.read"]}
    )
    response = await client.post(SEND, json=MAIL, headers=headers)
    assert response.status_code == status
    assert response.json()["errors"][0]["message"] == message


async def test_rate_limit_answers_429_until_the_window_ends(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await client.post(SEND, json=MAIL, headers=AUTH)).status_code == 202
    limited = await client.post(SEND, json=MAIL, headers=AUTH)
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) > time.time()
    assert limited.json()["errors"][0]["message"] == "too many requests"
    await client.post("/sendgrid/_sandbox/clock", json={"advance_seconds": 60})
    assert (await client.post(SEND, json=MAIL, headers=AUTH)).status_code == 202
    assert len((await client.get("/sendgrid/_sandbox/emails")).json()) == 4


async def test_injected_faults_use_sendgrids_body(client: httpx.AsyncClient) -> None:
    await client.post("/sendgrid/_sandbox/faults", json={"status": 500, "times": 1})
    response = await client.post(SEND, json=MAIL, headers=AUTH)
    assert response.status_code == 500
    assert "errors" in response.json()
    assert (await client.post(SEND, json=MAIL, headers=AUTH)).status_code == 202


async def test_scopes_lists_any_valid_keys_scopes_and_sends_nothing(
    client: httpx.AsyncClient,
) -> None:
    await client.post(
        "/sendgrid/_sandbox/keys", json={"key": "SG.read-only", "scopes": ["stats.read"]}
    )

    full = await client.get("/sendgrid/v3/scopes", headers=AUTH)
    read_only = await client.get(
        "/sendgrid/v3/scopes", headers={"Authorization": "Bearer SG.read-only"}
    )
    unknown = await client.get("/sendgrid/v3/scopes", headers={"Authorization": "Bearer SG.x"})

    assert (full.status_code, full.json()) == (200, {"scopes": ["mail.send"]})
    assert (read_only.status_code, read_only.json()) == (200, {"scopes": ["stats.read"]})
    assert unknown.status_code == 401
    assert unknown.json()["errors"][0]["message"].startswith("The provided authorization grant")
    stats = (await client.get("/sendgrid/_sandbox/stats")).json()
    assert stats == {"accepted": 0, "refused": {"401": 1}}
