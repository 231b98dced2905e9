from __future__ import annotations

import json

import httpx
import pytest
from sandbox_kit import frozen_config, visma_token

from sandbox import create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

INVOICES = "/visma/v1/supplierInvoice"
ADMIN = "/visma/_sandbox"


async def _invoice(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    body = {"company": "tenant-se-1", "amount": "1000.00", **fields}
    response = await client.post(f"{ADMIN}/invoices", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


async def _read(client: httpx.AsyncClient, auth: dict[str, str], ref: object) -> httpx.Response:
    response = await client.get(f"{INVOICES}/Invoice/{ref}", headers=auth)
    assert response.status_code == 200, response.text
    return response


async def test_release_approves_bumps_etag_and_is_counted_once(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    invoice = await _invoice(client)
    ref = invoice["referenceNumber"]
    await client.post("/_sandbox/clock", json={"advance_seconds": 5})
    before = await _read(client, auth, ref)

    response = await client.post(
        f"{INVOICES}/Invoice/{ref}/action/release",
        headers=auth | {"If-Match": before.headers["ETag"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["actionResult"] == "Done"
    assert set(response.json()) == {"actionId", "actionResult", "errorInfo"}
    after = await _read(client, auth, ref)
    assert response.headers["ETag"] == after.headers["ETag"] != before.headers["ETag"]
    dto = after.json()
    assert (dto["status"], dto["approvalStatus"]) == ("Open", "Approved")
    assert dto["lastModifiedDateTime"] > before.json()["lastModifiedDateTime"]
    counts = (await client.get(f"{ADMIN}/invoices/tenant-se-1/{ref}/actions")).json()
    assert counts["actions"] == {"release": 1}
    assert (await client.get(f"{ADMIN}/actions")).json() == [
        {"company": "tenant-se-1", "entityId": f"Invoice:{ref}", "action": "release", "count": 1}
    ]


async def test_repeated_release_is_refused_and_not_counted(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    ref = (await _invoice(client))["referenceNumber"]
    first = await client.post(f"{INVOICES}/{ref}/action/release", headers=auth)
    second = await client.post(f"{INVOICES}/{ref}/action/release", headers=auth)
    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["ExceptionType"] == "IPPException"
    assert "status Open" in second.json()["ExceptionMessage"]
    counts = (await client.get(f"{ADMIN}/invoices/tenant-se-1/{ref}/actions")).json()
    assert counts["actions"] == {"release": 1}


async def test_stale_if_match_gets_412_after_a_concurrent_edit(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    ref = (await _invoice(client))["referenceNumber"]
    etag = (await _read(client, auth, ref)).headers["ETag"]
    edit = await client.post(f"{ADMIN}/invoices/tenant-se-1/{ref}/concurrent-edit")
    assert edit.status_code == 200
    assert f'"{edit.json()["previous"]}"' == etag

    refused = await client.post(
        f"{INVOICES}/Invoice/{ref}/action/release", headers=auth | {"If-Match": etag}
    )

    assert refused.status_code == 412
    assert refused.headers["ETag"] == f'"{edit.json()["timeStamp"]}"'
    dto = (await _read(client, auth, ref)).json()
    assert dto["status"] == "PendingApproval"
    counts = (await client.get(f"{ADMIN}/invoices/tenant-se-1/{ref}/actions")).json()
    assert counts["actions"] == {}
    retried = await client.post(
        f"{INVOICES}/Invoice/{ref}/action/release", headers=auth | {"If-Match": "*"}
    )
    assert retried.status_code == 200


@pytest.mark.parametrize(
    ("start", "action", "status", "approval"),
    [
        ("Balanced", "sendtoapproval", "PendingApproval", "Pending"),
        ("Balanced", "prebook", "Prebooked", "Pending"),
        ("PendingApproval", "voidinvoice", "Voided", "Pending"),
        ("Open", "writeoff", "Closed", "Approved"),
        ("Open", "reverse", "Closed", "Approved"),
    ],
)
async def test_document_actions_move_the_status(
    client: httpx.AsyncClient, start: str, action: str, status: str, approval: str
) -> None:
    auth = await visma_token(client)
    approval_start = "Approved" if start == "Open" else "Pending"
    invoice = await _invoice(client, status=start, approval_status=approval_start)
    ref = invoice["referenceNumber"]
    response = await client.post(f"{INVOICES}/Invoice/{ref}/action/{action}", headers=auth)
    assert response.status_code == 200, response.text
    dto = (await _read(client, auth, ref)).json()
    assert (dto["status"], dto["approvalStatus"]) == (status, approval)


async def test_correct_answers_with_the_reference(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    ref = (await _invoice(client, status="Open", approval_status="Approved"))["referenceNumber"]
    response = await client.post(f"{INVOICES}/{ref}/action/correct", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["refNbr"] == ref
    assert (await _read(client, auth, ref)).json()["status"] == "Balanced"


async def test_unknown_action_and_invoice_are_404(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    ref = (await _invoice(client))["referenceNumber"]
    unknown_action = await client.post(f"{INVOICES}/{ref}/action/prebook", headers=auth)
    unknown_invoice = await client.post(f"{INVOICES}/Invoice/999999/action/release", headers=auth)
    unauthenticated = await client.post(f"{INVOICES}/{ref}/action/release")
    assert (unknown_action.status_code, unknown_invoice.status_code) == (404, 404)
    assert unauthenticated.status_code == 401


async def test_put_note_with_if_match(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    ref = (await _invoice(client))["referenceNumber"]
    etag = (await _read(client, auth, ref)).headers["ETag"]
    body = {"note": {"value": "Approved in Slack by cfo"}, "hold": {"value": True}}

    response = await client.put(
        f"{INVOICES}/Invoice/{ref}", headers=auth | {"If-Match": etag}, json=body
    )
    stale = await client.put(
        f"{INVOICES}/Invoice/{ref}", headers=auth | {"If-Match": etag}, json=body
    )

    assert response.status_code == 204, response.text
    assert stale.status_code == 412
    dto = (await _read(client, auth, ref)).json()
    assert (dto["note"], dto["status"]) == ("Approved in Slack by cfo", "Hold")
    assert f'"{dto["timeStamp"]}"' == response.headers["ETag"] != etag
    counts = (await client.get(f"{ADMIN}/invoices/tenant-se-1/{ref}/actions")).json()
    assert counts["actions"] == {"update": 1}


async def test_put_refuses_unmodelled_fields(client: httpx.AsyncClient) -> None:
    auth = await visma_token(client)
    ref = (await _invoice(client))["referenceNumber"]
    response = await client.put(
        f"{INVOICES}/{ref}", headers=auth, json={"vatAmount": {"value": 5}, "note": "bare"}
    )
    assert response.status_code == 400
    assert "vatAmount" in response.json()["ExceptionMessage"]


async def test_action_fires_an_enabled_webhook() -> None:
    seen: list[dict[str, object]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as hooks:
        app = create_app(frozen_config(), webhook_client=hooks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            auth = await visma_token(client)
            ref = (await _invoice(client))["referenceNumber"]
            hook = {"url": "http://receiver/hook", "secret": "s", "entities": ["supplierInvoice"]}
            await client.post(f"{ADMIN}/webhooks", json=hook)
            await client.post(f"{INVOICES}/{ref}/action/release", headers=auth)
            await app.state.sandbox.visma.webhooks.drain()
    assert [(s["id"], s["event"]) for s in seen] == [(f"Invoice:{ref}", "Changed")]


async def test_a_puts_location_names_the_invoice_under_the_simulators_mount(
    client: httpx.AsyncClient,
) -> None:
    auth = await visma_token(client)
    ref = (await _invoice(client))["referenceNumber"]

    put = await client.put(f"{INVOICES}/{ref}", headers=auth, json={"note": {"value": "seen"}})

    assert put.status_code == 204
    assert put.headers["Location"] == f"http://sandbox{INVOICES}/Invoice/{ref}"
    assert (await client.get(put.headers["Location"], headers=auth)).status_code == 200
