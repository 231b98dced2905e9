"""Enrichment: a reference record that never arrives is named in the warning, then skipped."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from tests.unit.processor.conftest import MakeEvent

from processor.enrichment import ReferenceData

pytestmark = pytest.mark.unit


class EmptyView:
    """A reference view in which the record never arrives: each wait runs out."""

    def __init__(self) -> None:
        self.waited: list[tuple[str, float]] = []

    def get(self, key: str) -> dict[str, Any] | None:
        return None

    def wait_for(self, key: str, timeout: float) -> dict[str, Any] | None:
        self.waited.append((key, timeout))
        return None


def test_missing_reference_warning_names_the_record_and_who_needed_it(
    make: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    view = EmptyView()
    reference = ReferenceData(view, wait_seconds=0.25)  # type: ignore[arg-type]
    event = make(supplier_number="70012")
    with caplog.at_level(logging.WARNING, logger="processor.enrichment"):
        assert asyncio.run(reference.enrich(event)) == {}
    assert view.waited == [("t1/c1/supplier/70012", 0.25)]
    [record] = caplog.records
    message = record.getMessage()
    assert "supplier 70012" in message
    assert "t1/c1/supplier/70012" in message
    assert event.key in message
    assert "0.25s" in message
