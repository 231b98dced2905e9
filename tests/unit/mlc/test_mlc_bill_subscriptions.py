"""`mlc bill subscribe` and `mlc bill rotate-key` against the BILL sandbox, in process.

The sign-in (password, devKey) and the securityKeys live in a real vault over an in-memory
credential log; the sandbox is reached through the client's transport. The key BILL shows
once must be in the vault, sealed, and nowhere else: not in what the command prints, not in
a log line, not in the vault's records in clear.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from chassis.vault import CredentialVault, KeyRing, MasterKey, VaultUnavailable
from ingress.bill_keys import read_keys
from mlc.bill_subscriptions import parse_overlap
from mlc.cli import parser
from sandbox import SandboxConfig
from sandbox import create_app as create_sandbox
from sandbox.bill.config import DEMO_DEV_KEY, DEMO_ORGANIZATION_ID, DEMO_PASSWORD, DEMO_USERNAME

pytestmark = pytest.mark.unit

ORG = DEMO_ORGANIZATION_ID
URL = "https://connector.example/webhooks/bill"
BASES = ["--api-base", "http://sandbox/bill/connect/v3",
         "--events-base", "http://sandbox/bill/connect-events/v3"]  # fmt: skip


class FlakyCredentials:
    """The vault's log in memory; while `refusing`, every write fails as Kafka down would."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}
        self.refusing = False

    def read_all(self) -> dict[str, bytes]:
        return dict(self.records)

    def append(self, records: Sequence[tuple[str, bytes]]) -> None:
        if self.refusing:
            raise VaultUnavailable("the credential topic did not confirm the write")
        self.records.update(records)


@dataclass
class Rig:
    transport: httpx.ASGITransport
    log: FlakyCredentials
    vault: CredentialVault

    def run(self, *argv: str) -> tuple[int, str, str]:
        """Runs `mlc bill ...`; (exit status, stdout, stderr)."""
        args = parser("bill").parse_args(["bill", *argv, "--username", DEMO_USERNAME, *BASES])
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stderr", err)
            status: int = args.func(args, vault=self.vault, transport=self.transport, out=out)
        return status, out.getvalue(), err.getvalue()

    def subscriptions(self) -> list[dict[str, object]]:
        async def listed() -> list[dict[str, object]]:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://sb") as c:
                answer = await c.get("/bill/_sandbox/webhooks")
                return list(answer.json()["subscriptions"])

        return asyncio.run(listed())


@pytest.fixture
def rig(caplog: pytest.LogCaptureFixture) -> Rig:
    caplog.set_level(logging.DEBUG)
    config = SandboxConfig.model_validate({"clock_start": datetime(2026, 3, 2, 10, tzinfo=UTC)})
    log = FlakyCredentials()
    vault = CredentialVault(log, KeyRing(MasterKey.generate()))
    vault.put(f"bill/{ORG}/password", SecretStr(DEMO_PASSWORD))  # `mlc secrets set`
    vault.put("bill/devkey", SecretStr(DEMO_DEV_KEY))
    return Rig(httpx.ASGITransport(app=create_sandbox(config)), log, vault)


def assert_nowhere_in_clear(
    rig: Rig, key: str, caplog: pytest.LogCaptureFixture, *seen: str
) -> None:
    assert key not in "".join(seen)
    assert key.encode() not in b"".join(rig.log.records.values())
    assert key not in caplog.text
    assert all(key not in str(record.__dict__) for record in caplog.records)


def test_subscribe_stores_the_one_time_key_sealed_before_saying_anything(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    status, out, err = rig.run("subscribe", "--org", ORG, "--url", URL, "--tenant", "tenant-dk-1")

    assert (status, err) == (0, "")
    [subscription] = rig.subscriptions()
    assert subscription["notificationUrl"] == URL
    assert str(subscription["id"]) in out
    rig.vault.load()
    keys = read_keys(rig.vault, str(subscription["id"]))
    assert (keys.organization_id, keys.tenant_id, keys.previous) == (ORG, "tenant-dk-1", None)
    assert len(keys.current.get_secret_value()) >= 32
    assert_nowhere_in_clear(rig, keys.current.get_secret_value(), caplog, out, err)


def test_a_key_the_vault_cannot_store_deletes_the_subscription_and_says_so(rig: Rig) -> None:
    rig.log.refusing = True

    status, out, err = rig.run("subscribe", "--org", ORG, "--url", URL, "--tenant", "t")

    assert (status, out) == (1, "")
    assert err.startswith("error: the securityKey could not be stored in the vault")
    assert "was deleted again, nothing is subscribed" in err
    assert err.count("\n") == 1
    assert rig.subscriptions() == []


def test_rotate_key_keeps_both_keys_for_the_overlap_then_the_new_one_only(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.run("subscribe", "--org", ORG, "--url", URL, "--tenant", "t")
    [subscription] = rig.subscriptions()
    sid = str(subscription["id"])
    rig.vault.load()
    first = read_keys(rig.vault, sid).current.get_secret_value()
    before = datetime.now(UTC)

    status, out, err = rig.run("rotate-key", "--subscription", sid, "--overlap", "30m")

    assert (status, err) == (0, "")
    assert "the old one retires at" in out
    rig.vault.load()
    keys = read_keys(rig.vault, sid)
    second = keys.current.get_secret_value()
    assert second != first
    assert keys.previous is not None
    assert keys.previous.get_secret_value() == first
    assert keys.previous_until is not None
    assert (
        before + timedelta(minutes=30)
        <= keys.previous_until
        <= datetime.now(UTC) + timedelta(minutes=30)
    )
    within = keys.verifying(keys.previous_until - timedelta(seconds=1))
    after = keys.verifying(keys.previous_until)
    assert [k.get_secret_value() for k in within] == [second, first]
    assert [k.get_secret_value() for k in after] == [second]
    for key in (first, second):
        assert_nowhere_in_clear(rig, key, caplog, out, err)


def test_rotating_a_subscription_the_vault_holds_no_keys_for_is_one_line(rig: Rig) -> None:
    status, out, err = rig.run("rotate-key", "--subscription", "0sb01UNKNOWN")

    assert (status, out) == (1, "")
    assert err == (
        "error: the vault holds no keys for subscription 0sb01UNKNOWN: subscribe with "
        "`mlc bill subscribe` (BILL shows a key once, to the call that creates it)\n"
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("1d", 86400), ("0s", 0)]
)
def test_an_overlap_is_a_duration(text: str, seconds: int) -> None:
    assert parse_overlap(text) == timedelta(seconds=seconds)


def test_the_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser("bill").parse_args(["bill", "rotate-key", "--help"])

    assert "mlc bill rotate-key --subscription" in capsys.readouterr().out
