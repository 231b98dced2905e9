"""The run's airbase-poller (FlowStack): started with options it takes, on the run's topics
(the run's airbase-payments reads what it writes, the run's ingress writes the webhooks it
reads), each demo tenant's token named from the run's vault and in no argument or file."""

from __future__ import annotations

from pathlib import Path

import pytest

from airbase_payments.inject import PaymentsTopics
from airbase_payments.main import parser as payments_parser
from airbase_payments.settings import AirbasePaymentsSettings
from airbase_poller.config import load_config
from airbase_poller.main import parser
from events.airbase import AIRBASE_PAYMENTS, AIRBASE_WEBHOOKS
from mlc.stack import DEMO_TENANTS, FlowStack
from sandbox.airbase.config import demo_token

pytestmark = pytest.mark.unit


def test_the_runs_airbase_poller_feeds_the_runs_airbase_payments(tmp_path: Path) -> None:
    stack = FlowStack(run_id="abpoll", state_dir=tmp_path, base_url="http://127.0.0.1:1")
    child = stack._child("airbase-poller")
    args = parser().parse_args(child.argv[child.argv.index("--config") :])
    payments = stack._child("airbase-payments").argv
    theirs = payments_parser().parse_args(payments[payments.index("--config") :])
    read = PaymentsTopics.of(AirbasePaymentsSettings(topic_prefix=theirs.topic_prefix)).payments
    assert args.topic_prefix + AIRBASE_PAYMENTS.name == read.name
    ingress = stack._child("ingress").env
    assert ingress["MLC_INGRESS_AIRBASE_TOPIC"] == args.topic_prefix + AIRBASE_WEBHOOKS.name
    assert child.env["MLC_AIRBASE_POLLER_TRANSACTIONAL_ID"] == "run-abpoll-airbase-poller"
    assert child.env["MLC_CREDENTIALS_TOPIC"]  # the token comes from the run's vault
    config = load_config(args.config)
    assert [t.tenant_id for t in config.tenants] == list(DEMO_TENANTS)
    assert {t.api_base for t in config.tenants} == {"http://127.0.0.1:1/airbase"}
    text = " ".join(child.argv) + args.config.read_text() + str(child.env)
    assert not any(demo_token(tenant) in text for tenant in DEMO_TENANTS)
