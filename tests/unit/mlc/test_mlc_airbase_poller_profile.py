"""A run with an Airbase profile hands it to the airbase-poller as well as to the sandbox and
the airbase-sink: a poller left on the assumed paths cannot read a renamed Airbase."""

from __future__ import annotations

from pathlib import Path

from airbase_poller.config import load_config
from mlc.stack import FlowStack


def test_the_run_s_airbase_profile_is_in_the_poller_s_file(tmp_path: Path) -> None:
    profile = tmp_path / "airbase-profile.yaml"
    profile.write_text("auth_scheme: Bearer\npaths: {ledger_entries: /api/v2/entries/}\n")
    stack = FlowStack(run_id="r1", state_dir=tmp_path, airbase_profile=profile)
    stack.base_url = "http://127.0.0.1:1"

    child = stack._child("airbase-poller")

    config = load_config(Path(child.argv[child.argv.index("--config") + 1]))
    assert {t.tenant_id: t.profile for t in config.tenants} == {
        "tenant-se-1": profile, "tenant-no-1": profile, "tenant-dk-1": profile
    }  # fmt: skip


def test_without_a_profile_the_poller_speaks_the_assumed_api(tmp_path: Path) -> None:
    stack = FlowStack(run_id="r1", state_dir=tmp_path)
    stack.base_url = "http://127.0.0.1:1"

    child = stack._child("airbase-poller")

    config = load_config(Path(child.argv[child.argv.index("--config") + 1]))
    assert [t.profile for t in config.tenants] == [None, None, None]
