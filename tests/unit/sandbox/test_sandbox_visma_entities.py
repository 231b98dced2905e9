"""Every entity type is served like supplierInvoice: filter, paging, ETag, changes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sandbox_kit import entity_key, frozen_config, visma_token

from sandbox import create_app
from sandbox.visma.entities import ENTITY_SPECS, SPECS_BY_NAME

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ENTITIES = [spec.name for spec in ENTITY_SPECS]
COMPANY = "tenant-se-1"


def _route(entity: str) -> str:
    return f"/visma{SPECS_BY_NAME[entity].route}"


async def _items(
    client: httpx.AsyncClient, entity: str, auth: dict[str, str], **params: object
) -> list[dict[str, object]]:
    response = await client.get(_route(entity), headers=auth, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()
    return items


async def _admin_ids(client: httpx.AsyncClient, entity: str) -> list[str]:
    response = await client.get(f"/visma/_sandbox/entities/{entity}", params={"company": COMPANY})
    assert response.status_code == 200, response.text
    return [item["entityId"] for item in response.json()]


def _changeable(item: dict[str, object]) -> str:
    return "status" if "status" in item else "description"


@pytest.mark.parametrize("entity", ENTITIES)
async def test_list_carries_stamps_metadata_and_ids(client: httpx.AsyncClient, entity: str) -> None:
    auth = await visma_token(client)
    items = await _items(client, entity, auth)
    assert items, f"{entity} is seeded"
    for item in items:
        assert {"lastModifiedDateTime", "createdDateTime", "timeStamp"} <= set(item)
        assert item["metadata"] == {"totalCount": len(items), "maxPageSize": 100}
        assert str(item["createdDateTime"]) <= str(item["lastModifiedDateTime"])
    assert [entity_key(entity, i) for i in items] == await _admin_ids(client, entity)
    assert len({entity_key(entity, i) for i in items}) == len(items)


@pytest.mark.parametrize(("condition", "expected"), [(">", 0), (">=", 1), ("<=", -1), ("<", -2)])
@pytest.mark.parametrize("entity", ENTITIES)
async def test_filter_at_the_exact_boundary(
    client: httpx.AsyncClient, entity: str, condition: str, expected: int
) -> None:
    # Seeded records were all modified before START; the created one exactly at START.
    created = await client.post(f"/visma/_sandbox/entities/{entity}", json={"company": COMPANY})
    assert created.status_code == 201, created.text
    auth = await visma_token(client)
    total = len(await _items(client, entity, auth))
    items = await _items(
        client,
        entity,
        auth,
        lastModifiedDateTime="2026-03-02T10:00:00.000",
        lastModifiedDateTimeCondition=condition,
    )
    assert len(items) == (expected if expected >= 0 else total + expected + 1)
    keys = [entity_key(entity, i) for i in items]
    assert (created.json()["entityId"] in keys) is (condition in (">=", "<="))


@pytest.mark.parametrize("entity", ENTITIES)
async def test_paging_follows_creation_order_and_clamps(
    make_client: Callable[[FastAPI], httpx.AsyncClient], entity: str
) -> None:
    async with make_client(create_app(frozen_config(max_page_size=4))) as client:
        auth = await visma_token(client)
        expected = await _admin_ids(client, entity)
        clamped = await _items(client, entity, auth, pageSize=1000)
        assert len(clamped) == min(4, len(expected))
        assert clamped[0]["metadata"] == {"totalCount": len(expected), "maxPageSize": 4}
        seen: list[str] = []
        for page in range(1, len(expected) // 3 + 3):
            chunk = await _items(client, entity, auth, pageNumber=page, pageSize=3)
            seen += [entity_key(entity, i) for i in chunk]
        assert seen == expected
        bad = await client.get(_route(entity), headers=auth, params={"pageNumber": 0})
        assert bad.status_code == 400
        half = await client.get(_route(entity), headers=auth, params={"lastModifiedDateTime": "x"})
        assert half.status_code == 400


@pytest.mark.parametrize("entity", ENTITIES)
async def test_single_get_etag_and_patch_bumps_last_modified(
    client: httpx.AsyncClient, entity: str
) -> None:
    auth = await visma_token(client)
    first = (await _items(client, entity, auth))[0]
    key = entity_key(entity, first)
    spec = SPECS_BY_NAME[entity]
    for path in (key, key.replace(":", "/"), spec.short_id(first)):
        response = await client.get(f"{_route(entity)}/{path}", headers=auth)
        assert response.status_code == 200, path
        assert response.headers["ETag"] == f'"{first["timeStamp"]}"'
    await client.post("/visma/_sandbox/clock", json={"advance_seconds": 5})
    field = _changeable(first)
    patch = await client.patch(
        f"/visma/_sandbox/entities/{entity}/{COMPANY}/{key}", json={field: "Sandboxed"}
    )
    assert patch.status_code == 200, patch.text
    assert patch.json()["lastModifiedDateTime"] == "2026-03-02T10:00:05.000"
    after = await client.get(f"{_route(entity)}/{key}", headers=auth)
    assert after.headers["ETag"] != f'"{first["timeStamp"]}"'
    assert after.json()[field] == "Sandboxed"
    changed = await _items(
        client,
        entity,
        auth,
        lastModifiedDateTime="2026-03-02 10:00:00",
        lastModifiedDateTimeCondition=">",
    )
    assert [entity_key(entity, i) for i in changed] == [key]
    missing = await client.get(f"{_route(entity)}/NOPE-404", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["ExceptionType"] == "IPPException"


@pytest.mark.parametrize("entity", ENTITIES)
async def test_touch_changes_that_many_records(client: httpx.AsyncClient, entity: str) -> None:
    await client.post("/visma/_sandbox/clock", json={"advance_seconds": 1})
    touched = await client.post(
        f"/visma/_sandbox/entities/{entity}/{COMPANY}/touch", json={"count": 3}
    )
    assert touched.status_code == 200, touched.text
    ids = touched.json()["changed"]
    assert len(set(ids)) == 3
    auth = await visma_token(client)
    changed = await _items(
        client,
        entity,
        auth,
        lastModifiedDateTime="2026-03-02 10:00:00",
        lastModifiedDateTimeCondition=">",
    )
    assert sorted(entity_key(entity, i) for i in changed) == sorted(ids)


async def test_budget_is_shared_by_every_route_of_a_company(
    make_client: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    config = frozen_config(hourly_budget=len(ENTITIES))
    async with make_client(create_app(config)) as client:
        auth = await visma_token(client)
        answers = [await client.get(_route(e), headers=auth) for e in ENTITIES]
        assert {a.status_code for a in answers} == {200}
        assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
        for entity in ("supplier", "dimension"):
            limited = await client.get(f"{_route(entity)}/whatever", headers=auth)
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "3600"
        other = await client.get(
            _route("supplier"), headers=await visma_token(client, "tenant-no-1")
        )
        assert other.status_code == 200
        stats = (await client.get("/visma/_sandbox/stats")).json()
    assert stats["calls"] == {COMPANY: len(ENTITIES), "tenant-no-1": 1}
    assert stats["calls_by_route"][COMPANY] == {s.route: 1 for s in ENTITY_SPECS}
    assert stats["calls_by_route"]["tenant-no-1"] == {"/v1/supplier": 1}
    assert stats["rate_limited"] == {COMPANY: 2}
