from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.__main__ import build_config, parse_args

pytestmark = pytest.mark.unit


def test_flags_override_defaults() -> None:
    args = parse_args(["--port", "0", "--seed", "7", "--invoices", "12", "--hourly-budget", "9"])
    config = build_config(args)
    assert args.port == 0
    assert config.seed == 7
    assert config.visma.invoices_per_company == 12
    assert config.visma.hourly_budget == 9
    assert config.visma.records_per_company == 10


def test_records_flag_sets_every_other_entity() -> None:
    config = build_config(parse_args(["--records", "4"]))
    assert config.visma.count_for("customer") == 4
    assert config.visma.count_for("supplier") == 12
    assert config.visma.count_for("supplierInvoice") == 25
    assert config.visma.clients[0].client_secret.get_secret_value() == "mlc-demo-secret"


def test_yaml_config_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text(
        "clock_speed: 60\n"
        "visma: {max_page_size: 10, strict_company_header: true}\n"
        "slack: {extra_channels: [ap-dk]}\n"
    )
    config = build_config(parse_args(["--config", str(path), "--max-page-size", "20"]))
    assert config.clock_speed == 60
    assert config.visma.max_page_size == 20
    assert config.visma.strict_company_header is True
    assert config.slack.extra_channels == ["ap-dk"]


def test_slack_events_url_flag() -> None:
    config = build_config(parse_args(["--slack-events-url", "http://127.0.0.1:8080/slack/events"]))
    assert config.slack.events.url == "http://127.0.0.1:8080/slack/events"
    assert config.slack.events.signing_secret.get_secret_value() == "mlc-demo-signing-secret"
    assert build_config(parse_args([])).slack.events.url is None


def test_twilio_flags() -> None:
    config = build_config(
        parse_args(
            ["--twilio-failure-rate", "0.1", "--twilio-callback-mode", "out_of_order",
             "--twilio-concurrency-limit", "5"]
        )
    )  # fmt: skip
    assert config.twilio.failure_rate == 0.1
    assert config.twilio.callbacks.mode == "out_of_order"
    assert [a.concurrency_limit for a in config.twilio.accounts] == [5]
    assert config.twilio.accounts[0].auth_token.get_secret_value()  # secrets survive the copy
    default = build_config(parse_args([])).twilio
    assert (default.failure_rate, default.callbacks.mode) == (0.0, "once")
    with pytest.raises(ValueError, match="failure_rate"):
        build_config(parse_args(["--twilio-failure-rate", "2"]))
