"""FlowStack runs the airbase-sink on the run's topics, each demo tenant's Airbase account in
the sandbox, tokens by their vault names only."""

from __future__ import annotations

from pathlib import Path

import pytest

from airbase_sink.main import options_from, parser
from airbase_sink.tenants import load_tenants
from chassis.settings import ServiceSettings
from mlc.stack import DEMO_TENANTS, FlowStack
from sandbox.airbase.config import demo_token

pytestmark = pytest.mark.unit


def test_the_stack_starts_the_sink_on_its_topics_with_vault_names_only(tmp_path: Path) -> None:
    stack = FlowStack(run_id="ab", state_dir=tmp_path, base_url="http://127.0.0.1:1")
    child = stack._child("airbase-sink")
    assert child.argv[1:3] == ["-m", "airbase_sink"]
    options = options_from(parser().parse_args(child.argv[3:]), ServiceSettings())
    assert options.commands_topic.name == "run.ab.sink.airbase.v1"
    assert options.ledger_topic.name == "run.ab.state.airbase-ledger.v1"
    tenants = load_tenants(options.tenants_file)
    assert sorted(tenants) == sorted(DEMO_TENANTS)
    assert {t.credential for t in tenants.values()} == {f"airbase/{t}" for t in DEMO_TENANTS}
    assert all(t.api_base == "http://127.0.0.1:1/airbase" for t in tenants.values())
    handed = "\n".join([*child.env.values(), *child.argv, options.tenants_file.read_text()])
    assert not any(demo_token(t) in handed for t in DEMO_TENANTS)
    assert child.env["MLC_CREDENTIALS_TOPIC"] == "run.ab.state.credentials.v1"
    values = stack.credentials().values
    assert values["airbase/tenant-se-1"].get_secret_value() == demo_token("tenant-se-1")
