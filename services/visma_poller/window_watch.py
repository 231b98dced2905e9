"""Did the result set hold still while a poll read it page by page?

Visma pages by position (`pageNumber`), in an order it does not document. When records are
inserted into or deleted from the filtered set during a multi-page read, positions shift:
an insert before the read position makes a record appear twice, a deletion makes one slip
back past a page edge unread. A poll that may have skipped a record must not move its
cursor past its start (see `cursor`). The watch says "moved" when:

- `metadata.totalCount` differs between pages of the poll;
- the poll read fewer or more distinct records than the set holds at its end;
- the poll resumed after a crash: the pages before it were read by another process, so it
  cannot tell.

What one read cannot see: an insert and a deletion between the same two pages that leave
the total unchanged. The overlap of the next poll is what catches a record skipped that way
when it changed recently; nothing short of a re-read catches an old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class WindowWatch:
    resumed: bool
    totals: list[int | None] = field(default_factory=list)
    records: set[str] = field(default_factory=set)

    def page(self, total_count: int | None, record_ids: set[str]) -> None:
        self.totals.append(total_count)
        self.records |= record_ids

    @property
    def moved(self) -> bool:
        if self.resumed:
            return True
        known = [t for t in self.totals if t is not None]
        if not known:
            return False  # a list without totals (or an empty one) cannot tell
        if len(set(known)) > 1:
            return True
        return len(self.records) != known[-1]

    def describe(self) -> str:
        """For the log: why the window counts as moved."""
        if self.resumed:
            return "resumed after a restart"
        known = [t for t in self.totals if t is not None]
        if len(set(known)) > 1:
            return f"totalCount changed between pages: {known}"
        return f"read {len(self.records)} distinct records of {known[-1] if known else '?'}"
