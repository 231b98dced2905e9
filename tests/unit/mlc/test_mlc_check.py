"""`mlc check` against the in-process sandbox: one good and one broken credential per
system give the right lines and exit status, and nothing changes in any system."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.vault import CredentialNotFound
from mlc.check import report, run_checks
from mlc.check_config import (
    AirbaseCheck,
    BillCheck,
    CheckConfig,
    MondayCheck,
    SlackCheck,
    TwilioCheck,
    load_check_config,
)
from mlc.check_probes import CheckResult
from mlc.cli import main
from sandbox.airbase.config import DEMO_AIRBASE_TOKEN
from sandbox.app import create_app
from sandbox.bill.config import (
    DEMO_DEV_KEY,
    DEMO_ORGANIZATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
)
from sandbox.config import DEMO_BOT_TOKEN
from sandbox.monday.config import DEMO_MONDAY_TOKEN
from sandbox.twilio.config import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

pytestmark = pytest.mark.unit

BOARD = "1000000001"
"""The procurement board the sandbox seeds (its first id)."""

VAULT = {
    "slack.good": SecretStr(DEMO_BOT_TOKEN),
    "slack.revoked": SecretStr("xoxb-uninstalled-app"),
    "twilio.good": SecretStr(DEMO_AUTH_TOKEN),
    "twilio.changed": SecretStr("0" * 32),
    "monday.good": SecretStr(DEMO_MONDAY_TOKEN),
    "monday.expired": SecretStr("an-old-monday-token"),
    "airbase.good": SecretStr(DEMO_AIRBASE_TOKEN),
    "airbase.revoked": SecretStr("airbase-revoked-token"),
    "bill.password": SecretStr(DEMO_PASSWORD),
    "bill.old-password": SecretStr("the-password-before-the-change"),
    "bill.dev-key": SecretStr(DEMO_DEV_KEY),
}


def _secret(name: str) -> SecretStr:
    if name not in VAULT:
        raise CredentialNotFound(name)
    return VAULT[name]


CONFIG = CheckConfig(
    slack=[
        SlackCheck(
            credential="slack.good", api_base="http://sandbox/slack/api", channels=["#ap-large"]
        ),
        SlackCheck(credential="slack.revoked", api_base="http://sandbox/slack/api"),
        SlackCheck(
            credential="slack.good", api_base="http://sandbox/slack/api", channels=["ap-outside"]
        ),
    ],
    twilio=[
        TwilioCheck(
            credential="twilio.good", api_base="http://sandbox/twilio", account_sid=DEMO_ACCOUNT_SID
        ),
        TwilioCheck(
            credential="twilio.changed",
            api_base="http://sandbox/twilio",
            account_sid=DEMO_ACCOUNT_SID,
        ),
        TwilioCheck(
            credential="twilio.missing",
            api_base="http://sandbox/twilio",
            account_sid=DEMO_ACCOUNT_SID,
        ),
    ],
    monday=[
        MondayCheck(credential="monday.good", api_base="http://sandbox/monday", boards=[BOARD]),
        MondayCheck(credential="monday.expired", api_base="http://sandbox/monday"),
        MondayCheck(credential="monday.good", api_base="http://sandbox/monday", boards=["404"]),
    ],
    airbase=[
        AirbaseCheck(credential="airbase.good", api_base="http://sandbox/airbase"),
        AirbaseCheck(credential="airbase.revoked", api_base="http://sandbox/airbase"),
    ],
    bill=[
        BillCheck(
            credential=password,
            api_base="http://sandbox/bill/connect/v3",
            username=DEMO_USERNAME,
            organization_id=DEMO_ORGANIZATION_ID,
            dev_key_credential="bill.dev-key",
        )
        for password in ("bill.password", "bill.old-password")
    ],
)


def _checked(
    config: CheckConfig, *, system: str | None = None, credential: str | None = None
) -> tuple[list[CheckResult], dict[str, object]]:
    app = create_app()
    sandbox = app.state.sandbox
    sandbox.slack.add_channel("ap-outside", is_member=False)
    bill_before = {
        oid: {entity: len(rows) for entity, rows in org.by_entity.items()}
        for oid, org in sandbox.bill.records.organizations.items()
    }
    boards = {board: len(sandbox.monday.boards[board].items) for board in sandbox.monday.boards}
    transport = httpx.ASGITransport(app=app)
    results = asyncio.run(
        run_checks(
            config, secret=_secret, transport=transport, system=system, credential=credential
        )
    )
    after = {
        "slack_posted": dict(sandbox.slack.stats.posted),
        "slack_updated": dict(sandbox.slack.stats.updated),
        "slack_messages": len(sandbox.slack.messages),
        "slack_calls": dict(sandbox.slack.stats.calls),
        "twilio": sandbox.twilio.stats.as_dict(),
        "twilio_messages": len(sandbox.twilio.messages),
        "monday_created": dict(sandbox.monday.items_created),
        "monday_updated": dict(sandbox.monday.item_updates),
        "airbase_writes": sum(
            sum(counter.values())
            for records in sandbox.airbase.tenants.values()
            for counter in [*records.creates.values(), *records.updates.values()]
        ),
        "bill_records_before": bill_before,
        "airbase_records": sum(
            len(c) for r in sandbox.airbase.tenants.values() for c in r.collections.values()
        ),
        "bill_records": {
            oid: {entity: len(rows) for entity, rows in org.by_entity.items()}
            for oid, org in sandbox.bill.records.organizations.items()
        },
        "monday_items_changed": {
            board: len(sandbox.monday.boards[board].items) - count
            for board, count in boards.items()
        },
    }
    return results, after


def test_good_and_broken_credentials_get_their_lines_and_nothing_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results, after = _checked(CONFIG)

    assert [(r.system, r.credential, r.ok) for r in results] == [
        ("slack", "slack.good", True),
        ("slack", "slack.revoked", False),
        ("slack", "slack.good", False),
        ("twilio", "twilio.good", True),
        ("twilio", "twilio.changed", False),
        ("twilio", "twilio.missing", False),
        ("monday", "monday.good", True),
        ("monday", "monday.expired", False),
        ("monday", "monday.good", False),
        ("airbase", "airbase.good", True),
        ("airbase", "airbase.revoked", False),
        ("bill", "bill.password", True),
        ("bill", "bill.old-password", False),
    ]
    good_slack, revoked, outside, good_twilio, changed, missing, *others = results
    good_monday, expired, no_board, good_airbase, refused, good_bill, old_password = others
    assert good_bill.detail.startswith(f"{DEMO_USERNAME} signed in to {DEMO_ORGANIZATION_ID}")
    assert old_password.detail.startswith(f"BILL refused the sign-in to {DEMO_ORGANIZATION_ID}")
    assert "mlc secrets set bill.old-password" in old_password.action
    assert good_airbase.detail.startswith("vendors readable (none yet)")
    assert refused.detail.startswith("Airbase refused the token")
    assert "mlc secrets set airbase.revoked" in refused.action
    assert "reads 1 board(s); complexity left " in good_monday.detail
    assert expired.detail.startswith("monday refused the token")
    assert "mlc secrets set monday.expired" in expired.action
    assert no_board.detail.endswith("cannot read board 404")
    assert "bot mlc-bot" in good_slack.detail
    assert "member of 1 channel" in good_slack.detail
    assert revoked.detail == "Slack refused the token: invalid_auth"
    assert "mlc secrets set slack.revoked" in revoked.action
    assert "not in #ap-outside" in outside.detail
    assert "/invite" in outside.action
    assert good_twilio.detail == f"account {DEMO_ACCOUNT_SID} readable"
    assert changed.detail.startswith(f"Twilio refused the credentials for {DEMO_ACCOUNT_SID}")
    assert "mlc secrets set twilio.changed" in changed.action
    assert missing.detail == "credential 'twilio.missing' is not in the vault"
    assert missing.action == "store it: mlc secrets set twilio.missing"
    assert all(r.latency_ms >= 0 for r in results)
    # Only reads reached the sandboxes: no post, no update, no SMS.
    assert after["slack_posted"] == {}
    assert after["slack_updated"] == {}
    assert after["slack_messages"] == 0
    assert set(after["slack_calls"]) == {"auth.test", "conversations.list"}  # type: ignore[arg-type]
    assert after["twilio_messages"] == 0
    assert after["twilio"] == {"created": 0, "refused": {}, "throttled": 0, "final_statuses": {}}
    assert after["monday_created"] == {}
    assert after["monday_updated"] == {}
    assert after["monday_items_changed"] == {BOARD: 0}
    assert after["airbase_writes"] == 0
    assert after["airbase_records"] == 0
    assert after["bill_records"] == after["bill_records_before"]

    assert report(results) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 14
    assert lines[-1] == "5 OK, 8 failed"
    assert lines[1].split()[:3] == ["slack", "slack.revoked", "FAIL"]
    # The lines never show a secret.
    assert not any(s.get_secret_value() in "\n".join(lines) for s in VAULT.values())


def test_all_good_exits_zero_and_filters_pick_entries(capsys: pytest.CaptureFixture[str]) -> None:
    results, _ = _checked(CONFIG, system="twilio", credential="twilio.good")

    assert [(r.system, r.credential, r.ok) for r in results] == [("twilio", "twilio.good", True)]
    assert report(results) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 OK, 0 failed"


def test_a_filter_that_matches_nothing_is_one_clear_error() -> None:
    with pytest.raises(PermanentError, match="no configured credential matches credential nobody"):
        _checked(CONFIG, credential="nobody")


def test_a_wrong_config_file_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "check.yaml"
    config.write_text("slack:\n  - credential: slack.good\n    api_bse: http://x\n")

    assert main(["check", "--config", str(config)]) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"mlc check: {config}")
    assert "line 2: slack[0].api_base: Field required" in err[0]


def test_the_example_file_is_a_valid_configuration() -> None:
    example = Path(__file__).parents[3] / "deploy" / "check.example.yaml"

    config = load_check_config(example)

    assert [e.system for e in config.entries()] == [
        "slack", "twilio", "monday", "airbase", "bill"
    ]  # fmt: skip


def test_a_token_without_a_configured_scope_fails_and_says_which() -> None:
    def slack(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/auth.test"
        body = {"ok": True, "team": "Acme", "user": "mlc-bot"}
        return httpx.Response(
            200, json=body, headers={"X-OAuth-Scopes": "channels:read, users:read"}
        )

    entries = [
        SlackCheck(credential="slack.good", api_base="https://slack.test/api", scopes=scopes)
        for scopes in (["chat:write", "users:read"], ["users:read"])
    ]
    results = asyncio.run(
        run_checks(CheckConfig(slack=entries), secret=_secret, transport=httpx.MockTransport(slack))
    )

    missing, enough = results
    assert not missing.ok
    assert missing.detail == "team Acme, bot mlc-bot; missing scopes: chat:write"
    assert "reinstall" in missing.action
    assert enough.ok
    assert enough.detail == "team Acme, bot mlc-bot; scopes channels:read,users:read"
