"""BILL's list paging: ``max`` records a page and opaque ``nextPage``/``prevPage`` tokens.

A token names a position by the sort key of the record at the page's edge (keyset paging),
not by an offset, so records created, changed or archived while a client pages never make
it skip or repeat a record whose sort key did not change. (A record whose sort key changed,
say its ``updatedTime`` under ``sort=updatedTime:asc``, moves: it is seen again at its new
place, never lost.) The token carries the query it belongs to (entity, organization,
filters, sort); the page's size is the request's ``max``. The response's field names
``nextPage``/``prevPage`` and ``results`` are UNCONFIRMED for AP lists; a missing page is
``null`` here. ``sort=field:asc|desc`` (default: creation order) is UNCONFIRMED syntax.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sandbox.bill.filters import FIELDS, Filter, comparable, field_value, invalid, parse_filters


@dataclass(frozen=True)
class ListQuery:
    entity: str
    organization_id: str
    filters: str
    sort: str

    @property
    def sort_field(self) -> str:
        return self.sort.split(":")[0] if self.sort else "id"

    @property
    def descending(self) -> bool:
        return self.sort.endswith(":desc")


@dataclass(frozen=True)
class Page:
    results: list[dict[str, Any]]
    next_page: str | None
    prev_page: str | None

    def body(self) -> dict[str, Any]:
        return {"nextPage": self.next_page, "prevPage": self.prev_page, "results": self.results}


def check_sort(entity: str, sort: str | None) -> str:
    if not sort:
        return ""
    field, _, direction = sort.partition(":")
    if field not in FIELDS[entity] or direction not in ("", "asc", "desc"):
        raise invalid(f"cannot sort {entity}s by '{sort}'")
    return f"{field}:{direction or 'asc'}"


def encode_token(query: ListQuery, key: list[Any], direction: str) -> str:
    payload = {
        "e": query.entity,
        "o": query.organization_id,
        "f": query.filters,
        "s": query.sort,
        "k": key,
        "d": direction,
    }
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str, *, entity: str, organization_id: str) -> tuple[ListQuery, Any, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        query = ListQuery(payload["e"], payload["o"], payload["f"], payload["s"])
        key, direction = payload["k"], payload["d"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid("invalid page token") from None
    if query.entity != entity or query.organization_id != organization_id:
        raise invalid("the page token belongs to another list")
    return query, key, direction


def sort_key(query: ListQuery, record: dict[str, Any]) -> list[Any]:
    value = comparable(query.sort_field, field_value(record, query.sort_field))
    # None sorts first; the id breaks ties so every record has one place.
    return [0, "", record["id"]] if value is None else [1, value, record["id"]]


def _before(a: list[Any], b: list[Any], descending: bool) -> bool:
    return (tuple(a) > tuple(b)) if descending else (tuple(a) < tuple(b))


def read_page(
    query: ListQuery,
    records: list[dict[str, Any]],
    *,
    size: int,
    position: tuple[list[Any], str] | None,
) -> Page:
    """One page of `records` (the organization's, in any order) after or before `position`."""
    filters: list[Filter] = parse_filters(query.entity, query.filters)
    keyed = [(sort_key(query, r), r) for r in records if all(f.matches(r) for f in filters)]
    keyed.sort(key=lambda pair: tuple(pair[0]), reverse=query.descending)
    if position is None:
        chosen = keyed[:size]
    else:
        edge, direction = position
        if direction == "next":
            chosen = [p for p in keyed if _before(edge, p[0], query.descending)][:size]
        else:
            chosen = [p for p in keyed if _before(p[0], edge, query.descending)][-size:]
    if not chosen:
        return Page([], None, None)
    first, last = chosen[0][0], chosen[-1][0]
    more_after = any(_before(last, p[0], query.descending) for p in keyed)
    more_before = any(_before(p[0], first, query.descending) for p in keyed)
    return Page(
        results=[r for _, r in chosen],
        next_page=encode_token(query, last, "next") if more_after else None,
        prev_page=encode_token(query, first, "prev") if more_before else None,
    )
