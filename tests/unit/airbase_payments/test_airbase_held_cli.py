"""`mlc airbase held`: its help has an example, and a held payment reads with its reason."""

from __future__ import annotations

import pytest
from tests.unit.airbase_payments.payment_samples import config, line, payment

from airbase_payments.holds import PaymentHolds
from mlc.airbase_holds import describe
from mlc.cli import parser

pytestmark = pytest.mark.unit


def test_the_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser("airbase").parse_args(["airbase", "held", "--help"])
    text = capsys.readouterr().out
    assert "mlc airbase held --tenant tenant-se-1" in text
    assert "released, once" in text


def test_a_held_payment_is_described_with_its_reason() -> None:
    held = PaymentHolds(config()).payment_ready(
        payment(lines=[line(1, "1250.00", "4010", "CC-300")], bill_ref="Invoice:000123")
    )
    (standing,) = held.changed
    assert describe(standing) == (
        "tenant-se-1/le-1  Nordisk Papir AB  1250.00 SEK  bill bill-7 (Visma invoice "
        "Invoice:000123)  paid 2026-12-02\n"
        "  held: payment le-1 (1250.00 SEK to Nordisk Papir AB): line 1: cost center "
        "'CC-300' is not mapped\n"
    )
