"""The run's airbase-payments (FlowStack): started with options it takes, on the run's topics
(the Visma writer reads what it writes), the demo tenants' sandbox codes mapped, no vault."""

from __future__ import annotations

from pathlib import Path

import pytest

from airbase_payments.config import load_config
from airbase_payments.inject import PaymentsTopics
from airbase_payments.main import parser
from airbase_payments.settings import AirbasePaymentsSettings
from mlc.stack import DEMO_TENANTS, FlowStack

pytestmark = pytest.mark.unit


def test_the_runs_airbase_payments_feeds_the_runs_visma_writer(tmp_path: Path) -> None:
    stack = FlowStack(run_id="abpay", state_dir=tmp_path, base_url="http://127.0.0.1:1")
    child = stack._child("airbase-payments")
    assert not any(name.startswith("MLC_MASTER_KEY") for name in child.env)
    args = parser().parse_args(child.argv[child.argv.index("--config") :])
    topics = PaymentsTopics.of(AirbasePaymentsSettings(topic_prefix=args.topic_prefix))
    writer = stack._child("visma-writer").argv
    assert writer[writer.index("--commands-topic") + 1] == topics.commands.name
    config = load_config(args.config)
    for tenant_id in DEMO_TENANTS:
        tenant = config.tenant(tenant_id)
        assert tenant is not None
        assert tenant.company == tenant_id
        assert (tenant.accounts["6110"], tenant.cost_centers["CC300"]) == ("6110", "CC300")


def test_a_run_may_hand_its_own_mapping(tmp_path: Path) -> None:
    mapping = {"tenants": {"tenant-se-1": {"company": "tenant-se-1", "accounts": {"4010": "4010"}}}}
    stack = FlowStack(
        run_id="abpay", state_dir=tmp_path, base_url="http://127.0.0.1:1", airbase_payments=mapping
    )
    child = stack._child("airbase-payments")
    config = load_config(Path(child.argv[child.argv.index("--config") + 1]))
    tenant = config.tenant("tenant-se-1")
    assert tenant is not None
    assert (tenant.accounts, tenant.cost_centers) == ({"4010": "4010"}, {})
