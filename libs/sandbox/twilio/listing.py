"""Reading the Message list: Twilio's filters and its token-based paging.

Filters: ``To``, ``From``, ``DateSent`` (sent that GMT day), ``DateSent>`` (on or after
that day) and ``DateSent<`` (on or before it), in the formats the spec's examples use
(``YYYY-MM-DD``, ISO 8601 with or without ``Z``, RFC 2822). The spec describes the filters
as GMT dates, so the time of a full timestamp is ignored: a client asking for messages
since 14:05 also gets that morning's and must narrow the answer itself (UNCONFIRMED: the
live API's handling of a time part is not documented).
Newest first. A page holds ``PageSize`` messages (default 50, at most 1000); the next page
is named by a ``PageToken`` pointing at the last message shown (``PA<sid>``) and the
previous one by the first (``PB<sid>``), so messages created while a client pages through
the list shift nothing: it sees each older message once.

UNCONFIRMED: whether a message not sent yet (``date_sent`` null) matches ``DateSent``
filters on the live API. ``TwilioConfig.unsent_match_date_sent`` chooses; by default it
matches by its creation date, so a lookup right after a send finds the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from sandbox.twilio.messages import API_VERSION, Message

DEFAULT_PAGE_SIZE = 50
FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


class BadListQuery(ValueError):
    """A list parameter Twilio would refuse (answered as 400, code 20001)."""


@dataclass(frozen=True)
class Bound:
    start: float
    end: float
    """Half-open: start <= t < end."""


def _day_of(raw: str) -> date:
    """The GMT day a filter value names."""
    text = raw.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError) as exc:
            raise BadListQuery(f"Invalid date: {raw}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).date()


def date_bound(name: str, raw: str) -> Bound:
    day_start = datetime.combine(_day_of(raw), datetime.min.time(), UTC).timestamp()
    day_end = day_start + timedelta(days=1).total_seconds()
    if name == "DateSent":
        return Bound(day_start, day_end)
    if name == "DateSent>":
        return Bound(day_start, float("inf"))
    return Bound(float("-inf"), day_end)


@dataclass(frozen=True)
class ListQuery:
    account_sid: str
    filters: dict[str, str]
    page_size: int
    page: int
    page_token: str | None

    @classmethod
    def parse(cls, account_sid: str, params: dict[str, str], *, max_page_size: int) -> ListQuery:
        try:
            page_size = int(params.get("PageSize", DEFAULT_PAGE_SIZE))
            page = int(params.get("Page", 0))
        except ValueError as exc:
            raise BadListQuery("PageSize and Page must be integers") from exc
        if not 1 <= page_size <= max_page_size or page < 0:
            raise BadListQuery(f"PageSize must be between 1 and {max_page_size}")
        filters = {k: params[k] for k in FILTERS if params.get(k)}
        for name in ("DateSent", "DateSent<", "DateSent>"):
            if name in filters:
                date_bound(name, filters[name])  # refuse a bad date before reading
        return cls(account_sid, filters, page_size, page, params.get("PageToken") or None)

    def matches(self, message: Message, *, unsent_match_date_sent: bool) -> bool:
        if "To" in self.filters and message.to != self.filters["To"]:
            return False
        if "From" in self.filters and message.from_ != self.filters["From"]:
            return False
        sent = message.date_sent
        if sent is None and unsent_match_date_sent:
            sent = message.date_created
        for name in ("DateSent", "DateSent<", "DateSent>"):
            if name in self.filters:
                bound = date_bound(name, self.filters[name])
                if sent is None or not bound.start <= sent < bound.end:
                    return False
        return True

    def uri(self, *, page: int, token: str | None = None) -> str:
        params = [(k, self.filters[k]) for k in FILTERS if k in self.filters]
        params += [("PageSize", str(self.page_size)), ("Page", str(page))]
        if token is not None:
            params.append(("PageToken", token))
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json?{urlencode(params)}"


def render_page(query: ListQuery, newest_first: Sequence[Message]) -> dict[str, object]:
    """One page of the (already filtered) list, in the spec's ListMessageResponse shape."""
    start_index = 0
    if query.page_token is not None:
        direction, sid = query.page_token[:2], query.page_token[2:]
        index = next((i for i, m in enumerate(newest_first) if m.sid == sid), None)
        if index is None or direction not in {"PA", "PB"}:
            raise BadListQuery("Invalid PageToken")
        start_index = index + 1 if direction == "PA" else max(0, index - query.page_size)
    shown = list(newest_first[start_index : start_index + query.page_size])
    more = start_index + len(shown) < len(newest_first)
    start = query.page * query.page_size
    return {
        "end": start + len(shown) - 1 if shown else start,
        "first_page_uri": query.uri(page=0),
        "next_page_uri": (
            query.uri(page=query.page + 1, token=f"PA{shown[-1].sid}") if shown and more else None
        ),
        "page": query.page,
        "page_size": query.page_size,
        "previous_page_uri": (
            query.uri(page=query.page - 1, token=f"PB{shown[0].sid}")
            if shown and query.page > 0
            else None
        ),
        "start": start,
        "uri": query.uri(page=query.page, token=query.page_token),
        "messages": [m.as_resource() for m in shown],
    }
