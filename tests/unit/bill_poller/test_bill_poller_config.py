"""The bill-poller's file and command line: the example in --help loads, mistakes name the
field, and secrets are named in the file, never written in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bill_poller.config import BillPollerConfigError, load_config
from bill_poller.inject import poll_budgets
from bill_poller.main import EXAMPLE, main, parser

pytestmark = pytest.mark.unit


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def example_file(tmp_path: Path) -> Path:
    body = EXAMPLE.split("\n", 1)[1]
    path = tmp_path / "bill-poller.yaml"
    path.write_text("\n".join(line[2:] for line in body.splitlines()), encoding="utf-8")
    return path


def test_the_help_example_loads(tmp_path: Path) -> None:
    config = load_config(example_file(tmp_path))
    ((tenant, organization),) = config.organizations()
    assert tenant == "tenant-dk-1"
    assert organization.organization_id == "00801MLCDEMODK000001"
    assert organization.dev_key_credential == "bill/devkey"
    assert config.hourly_poll_budget == 2000


def test_a_password_in_the_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "tenants:\n  t:\n    organizations:\n      - organization_id: '00801X'\n"
        "        username: u\n        password: hunter2\n        password_credential: p\n"
        "        dev_key_credential: d\n",
        encoding="utf-8",
    )
    with pytest.raises(BillPollerConfigError) as refused:
        load_config(path)
    assert "line 6" in str(refused.value)
    assert "password" in str(refused.value)


def test_an_organization_twice_is_refused(tmp_path: Path) -> None:
    org = ("      - {organization_id: '00801X', username: u, password_credential: p, "
           "dev_key_credential: d}\n")  # fmt: skip
    path = tmp_path / "twice.yaml"
    path.write_text(f"tenants:\n  a:\n    organizations:\n{org}  b:\n    organizations:\n{org}")
    with pytest.raises(BillPollerConfigError, match="00801X is configured twice"):
        load_config(path)


def test_help_names_the_topics_and_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        parser().parse_args(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "bill.vendor.v1" in out
    assert "password_credential" in out


def test_a_bad_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("tenants: {}\n", encoding="utf-8")
    assert main(["--config", str(path)]) == 2


@pytest.mark.anyio
async def test_organizations_sharing_a_devkey_share_one_budget(tmp_path: Path) -> None:
    def org(org_id: str, dev_key: str) -> str:
        return (f"      - {{organization_id: '{org_id}', username: u, password_credential: p, "
                f"dev_key_credential: {dev_key}}}\n")  # fmt: skip

    path = tmp_path / "shared.yaml"
    path.write_text(
        "tenants:\n  a:\n    organizations:\n" + org("00801A", "key/one") + org("00801B", "key/two")
        + "  b:\n    organizations:\n" + org("00801C", "key/one") + "hourly_poll_budget: 2\n",
    )  # fmt: skip
    now = [0.0]
    budgets = poll_budgets(load_config(path), clock=lambda: now[0])
    assert budgets["00801A"] is budgets["00801C"]
    assert budgets["00801A"] is not budgets["00801B"]
    await budgets["00801A"].acquire()
    await budgets["00801C"].acquire()
    assert budgets["00801A"].snapshot().remaining == 0  # key/one spent by both
    assert budgets["00801B"].snapshot().remaining == 2
