"""The questions `mlc monday map` asks: accept or change what each column shows.

Plain prompts, one column at a time, in board order. Enter keeps the proposal; a field name
(or `a|b`: the first the record has) changes it; `-` leaves the column alone; `?` lists
the fields that fit the column's type, with the preview record's values. A field moved to
another column leaves the one it was on. Everything printed is the command's user output.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TextIO

from monday_sink.mapping import VISMA_FIELDS, BoardShape, BoundMapping, ColumnShape
from monday_sink.mapping.fields import COLUMN_TYPES, fits
from monday_sink.mapping.proposal import Pair, ProposedBy

__all__ = ["Dialogue", "describe", "preview_lines"]

HELP = """\
  Enter      keep what is proposed
  FIELD      show this Visma field instead (a|b: the first of them the record has)
  -          leave this column alone (the sink never writes it)
  ?          this help and the fields that fit this column"""


def _title(column: ColumnShape) -> str:
    return f"{column.title!r} ({column.type})"


def _shows(pair: Pair) -> str:
    return " | ".join(pair.fields) if pair.fields else "-"


def describe(board: BoardShape, pairs: list[Pair], out: TextIO) -> None:
    """The board's columns and what each shows, as a table."""
    width = max(len(_title(p.column)) for p in pairs) if pairs else 0
    print(f"Board {board.name!r} ({board.id}), {len(board.columns)} columns:", file=out)
    for number, pair in enumerate(pairs, 1):
        how = "" if pair.by is ProposedBy.NOTHING else f"   (by {pair.by})"
        print(f"  {number:>2}  {_title(pair.column):<{width}}  <- {_shows(pair)}{how}", file=out)


def preview_lines(bound: BoundMapping, fields: Mapping[str, str], out: TextIO) -> None:
    """The record rendered into the columns, as the sink would write it."""
    values = bound.render(fields)
    print(f"  item name: {bound.item_name(fields)!r}", file=out)
    for column in bound.columns:
        value = json.dumps(values[column.id]) if column.id in values else "(empty for this record)"
        print(f"  {column.title!r:<24} = {value}", file=out)


@dataclass
class Dialogue:
    ask: Callable[[str], str]
    out: TextIO
    sample: Mapping[str, str]

    def review(self, pairs: list[Pair]) -> list[Pair]:
        """Each column in turn; returns the pairs as accepted or changed."""
        print(
            "For each column: Enter keeps it, a field changes it, '-' leaves it, '?' helps.",
            file=self.out,
        )
        pairs = list(pairs)
        for index in range(len(pairs)):
            pairs = self.review_one(pairs, index)
        return pairs

    def review_one(self, pairs: list[Pair], index: int) -> list[Pair]:
        pair = pairs[index]
        while True:
            prompt = f"[{index + 1}/{len(pairs)}] {_title(pair.column)} [{_shows(pair)}]: "
            answer = self.ask(prompt).strip()
            if not answer:
                return pairs
            if answer == "?":
                self._help(pair.column)
                continue
            fields = () if answer == "-" else tuple(f.strip() for f in answer.split("|"))
            problem = self._problem(pair.column, fields)
            if problem:
                print(f"  {problem}", file=self.out)
                continue
            return self._assign(pairs, index, fields)

    def _problem(self, column: ColumnShape, fields: tuple[str, ...]) -> str | None:
        for field in fields:
            if field not in VISMA_FIELDS:
                close = difflib.get_close_matches(field, VISMA_FIELDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return f"unknown Visma field {field!r}{hint}; '?' lists them"
            if not fits(column.type, field):
                if column.type not in COLUMN_TYPES:
                    return f"the connector does not write {column.type} columns: '-' leaves it"
                return (
                    f"a {column.type} column cannot show {field!r} "
                    f"(a {VISMA_FIELDS[field]} field); '?' lists what fits"
                )
        return None

    def _assign(self, pairs: list[Pair], index: int, fields: tuple[str, ...]) -> list[Pair]:
        changed = list(pairs)
        for other, pair in enumerate(changed):
            moved = tuple(f for f in pair.fields if f not in fields)
            if other != index and moved != pair.fields:
                print(
                    f"  ({', '.join(f for f in pair.fields if f in fields)} no longer "
                    f"on {pair.column.title!r})",
                    file=self.out,
                )
                changed[other] = replace(pair, fields=moved, by=ProposedBy.PERSON)
        changed[index] = replace(changed[index], fields=fields, by=ProposedBy.PERSON)
        return changed

    def _help(self, column: ColumnShape) -> None:
        print(HELP, file=self.out)
        fitting = [f for f in VISMA_FIELDS if fits(column.type, f)]
        if not fitting:
            print(f"  no Visma field fits a {column.type} column: '-' leaves it", file=self.out)
            return
        print(
            f"  fields a {column.type} column can show (value in the preview record):",
            file=self.out,
        )
        with_value = [f for f in fitting if self.sample.get(f)]
        for field in with_value:
            print(f"    {field:<26} {self.sample[field]!r}", file=self.out)
        rest = [f for f in fitting if f not in with_value]
        if rest:
            print(f"    also: {', '.join(rest)}", file=self.out)
