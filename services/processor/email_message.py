"""The two parts of an alert or digest email: plain text, and HTML styled like Slack.

Finance teams read the same facts in Slack and in their inbox, so an email looks like the
Slack message of the same facts: a white card with a coloured bar on its left, a bold title,
the facts two by two as Block Kit shows section fields, and a grey context line with the link
back to the record. Mail clients ignore style sheets, so every style is inline and the layout
is a table. Every value is HTML-escaped: a vendor named `<script>` is shown, never run. The
plain-text part carries the same facts for clients that show no HTML (and for spam filters,
which distrust HTML-only mail).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

FONT = "Lato,'Helvetica Neue',Helvetica,Arial,sans-serif"
INK = "#1d1c1d"
GREY = "#616061"
LINK = "#1264a3"
BAR = "#36c5f0"


@dataclass(frozen=True)
class EmailParts:
    text: str
    html: str


@dataclass(frozen=True)
class Card:
    """One Slack-like message: a title, an optional line of text and facts, an optional link."""

    title: str
    note: str = ""
    """Grey text after the title (the rule's name)."""
    text: str = ""
    facts: Sequence[tuple[str, str]] = ()
    link: tuple[str, str] | None = None
    """(address, label) of the link back to the record."""


def alert_email(card: Card) -> EmailParts:
    """One alert: its text (the rendered template or the one-line summary) and its facts."""
    return EmailParts(text=_card_text(card), html=_page(_card_html(card)))


def digest_email(heading: str, cards: Iterable[Card]) -> EmailParts:
    """A day's items under one heading: a bullet line each in text, a card each in HTML."""
    cards = list(cards)
    text = "\n".join([heading, *(f"• {card.text or card.title}" for card in cards)])
    heading_html = (
        f'<p style="margin:0 0 12px;font-size:18px"><strong>{escape(heading)}</strong></p>'
    )
    return EmailParts(text=text, html=_page(heading_html + "".join(map(_card_html, cards))))


def _card_text(card: Card) -> str:
    lines = [f"{card.title} ({card.note})" if card.note else card.title]
    if card.text:
        lines.append(card.text)
    lines += [f"{label}: {value}" for label, value in card.facts]
    if card.link is not None:
        lines.append(f"{card.link[1]}: {card.link[0]}")
    return "\n".join(lines)


def _card_html(card: Card) -> str:
    note = f' <span style="color:{GREY}">({escape(card.note)})</span>' if card.note else ""
    parts = [f'<p style="margin:0 0 8px;font-size:15px"><strong>{escape(card.title)}</strong>'
             f"{note}</p>"]  # fmt: skip
    if card.text:
        text = "<br>".join(escape(line) for line in card.text.splitlines())
        parts.append(f'<p style="margin:0 0 8px;font-size:15px">{text}</p>')
    if card.facts:
        parts.append(_facts_table(card.facts))
    if card.link is not None:
        href, label = card.link
        parts.append(
            f'<p style="margin:8px 0 0;font-size:12px;color:{GREY}"><a href="{escape(href)}" '
            f'style="color:{LINK};text-decoration:none">{escape(label)}</a></p>'
        )
    return (
        f'<div style="border-left:4px solid {BAR};padding:2px 0 2px 12px;margin:0 0 16px">'
        + "".join(parts)
        + "</div>"
    )


def _facts_table(facts: Sequence[tuple[str, str]]) -> str:
    """Two facts a row, like the fields of a Block Kit section."""
    cell = 'style="vertical-align:top;width:50%;padding:0 16px 8px 0;font-size:15px"'
    rows = []
    for start in range(0, len(facts), 2):
        cells = [f"<td {cell}><strong>{escape(label)}</strong><br>{escape(value)}</td>"
                 for label, value in facts[start : start + 2]]  # fmt: skip
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table role="presentation" style="border-collapse:collapse;width:100%">'
        + "".join(rows)
        + "</table>"
    )


PAGE_START = (
    '<div style="max-width:600px;margin:0 auto;background:#ffffff;border:1px solid #e8e8e8;'
    'border-radius:8px;padding:16px">'
)
"""Where every page's content begins: a note (a reminder) goes right after it."""


def with_note(html: str, note: str) -> str:
    """`html` (a page made here) with a bold grey note above its content: "Reminder"."""
    line = (
        f'<p style="margin:0 0 8px;font-size:13px;color:{GREY}"><strong>{escape(note)}</strong></p>'
    )
    return html.replace(PAGE_START, PAGE_START + line, 1)


def _page(body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="margin:0;padding:16px;background:#f8f8f8;font-family:{FONT};color:{INK}">'
        f"{PAGE_START}{body}</div></body></html>"
    )
