"""The BILL simulator's settings from the command line: webhook mode and dropped share."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sandbox.__main__ import build_config, parse_args
from sandbox.bill.config import DeliveryMode


def test_bill_webhook_flags() -> None:
    config = build_config(parse_args(["--bill-webhook-mode", "once", "--bill-drop-rate", "0.3"]))
    assert config.bill.webhooks.mode is DeliveryMode.ONCE
    assert config.bill.webhooks.drop_rate == 0.3
    assert config.bill.dev_keys[0].get_secret_value()  # secrets survive the copy
    default = build_config(parse_args([])).bill.webhooks
    assert (default.mode, default.drop_rate) == (DeliveryMode.RETRY, 0.0)
    with pytest.raises(ValidationError):
        build_config(parse_args(["--bill-drop-rate", "1.5"]))
