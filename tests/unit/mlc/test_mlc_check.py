"""`mlc check` against the in-process sandbox: one good and one broken credential per
system give the right lines and exit status, and nothing changes in any system."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.vault import CredentialNotFound, VaultSettings
from credential_check.config import (
    AirbaseCheck,
    BillCheck,
    CheckConfig,
    MondayCheck,
    SendGridCheck,
    SlackCheck,
    TwilioCheck,
    VismaCheck,
    load_check_config,
)
from credential_check.result import CheckResult
from mlc.check import report, run_checks
from mlc.cli import main
from sandbox.airbase.config import DEMO_AIRBASE_TOKEN
from sandbox.app import create_app
from sandbox.bill.config import (
    DEMO_DEV_KEY,
    DEMO_ORGANIZATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
)
from sandbox.config import (
    DEMO_BOT_TOKEN,
    DEMO_CLIENT_ID,
    SandboxConfig,
    VismaClientRegistration,
)
from sandbox.monday.config import DEMO_MONDAY_TOKEN
from sandbox.twilio.config import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    DEMO_FROM,
    DEMO_MESSAGING_SERVICE_SID,
    DEMO_SENDGRID_KEY,
)

pytestmark = pytest.mark.unit

BOARD = "1000000001"
"""The procurement board the sandbox seeds (its first id)."""

READ_ONLY_CLIENT = "mlc-read-only"
"""A Visma client the sandbox registers for reading only (the check asks for update too)."""
READ_ONLY_SENDGRID_KEY = "SG.mlc-check.stats-only-key-0000000000"

VAULT = {
    "visma.good": SecretStr("mlc-demo-secret"),
    "visma.rotated": SecretStr("the-secret-before-rotation"),
    "sendgrid.good": SecretStr(DEMO_SENDGRID_KEY),
    "sendgrid.revoked": SecretStr("SG.revoked.key"),
    "sendgrid.stats-only": SecretStr(READ_ONLY_SENDGRID_KEY),
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


VISMA = "http://sandbox/visma"


def _visma(credential: str, client_id: str = DEMO_CLIENT_ID, **more: object) -> VismaCheck:
    return VismaCheck(
        credential=credential,
        client_id=client_id,
        api_base=VISMA,
        token_url=f"{VISMA}/connect/token",
        companies=["tenant-se-1", "tenant-no-1"],
        **more,  # type: ignore[arg-type]
    )


CONFIG = CheckConfig(
    visma=[
        _visma("visma.good"),
        _visma("visma.rotated"),
        _visma("visma.good", client_id=READ_ONLY_CLIENT),
        _visma("visma.good", requests_floor=499),
    ],
    sendgrid=[
        SendGridCheck(credential=name, api_base="http://sandbox/sendgrid")
        for name in ("sendgrid.good", "sendgrid.revoked", "sendgrid.stats-only")
    ],
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
            credential="twilio.good",
            api_base="http://sandbox/twilio",
            account_sid=DEMO_ACCOUNT_SID,
            from_number=DEMO_FROM,
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
        TwilioCheck(
            credential="twilio.good",
            api_base="http://sandbox/twilio",
            account_sid=DEMO_ACCOUNT_SID,
            from_number="+15005550007",
        ),
        TwilioCheck(
            credential="twilio.good",
            api_base="http://sandbox/twilio",
            account_sid=DEMO_ACCOUNT_SID,
            from_number="+46700000999",
        ),
        *(
            TwilioCheck(
                credential="twilio.good",
                api_base="http://sandbox/twilio",
                account_sid=DEMO_ACCOUNT_SID,
                messaging_service_sid=service,
                messaging_api_base="http://sandbox/twilio",
            )
            for service in (DEMO_MESSAGING_SERVICE_SID, "MG" + "ab" * 16)
        ),
    ],
    monday=[
        MondayCheck(credential="monday.good", api_base="http://sandbox/monday", boards=[BOARD]),
        MondayCheck(credential="monday.expired", api_base="http://sandbox/monday"),
        MondayCheck(credential="monday.good", api_base="http://sandbox/monday", boards=["404"]),
        MondayCheck(
            credential="monday.good", api_base="http://sandbox/monday", daily_calls_floor=9_999
        ),
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


def _sandbox_config() -> SandboxConfig:
    config = SandboxConfig()
    read_only = [
        VismaClientRegistration(
            client_id=READ_ONLY_CLIENT,
            client_secret=SecretStr("mlc-demo-secret"),
            tenant_id=tenant,
            scopes=["vismanet_erp_service_api:read"],
        )
        for tenant in ("tenant-se-1", "tenant-no-1")
    ]
    visma = config.visma.model_copy(update={"clients": [*config.visma.clients, *read_only]})
    return config.model_copy(update={"visma": visma})


def _checked(
    config: CheckConfig, *, system: str | None = None, credential: str | None = None
) -> tuple[list[CheckResult], dict[str, object]]:
    app = create_app(_sandbox_config())
    sandbox = app.state.sandbox
    sandbox.slack.add_channel("ap-outside", is_member=False)
    sandbox.sendgrid.keys[READ_ONLY_SENDGRID_KEY] = ["stats.read"]
    visma_before = sandbox.visma.store.changes
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
        "visma_record_changes": sandbox.visma.store.changes - visma_before,
        "visma_routes": {route for c in sandbox.visma.stats.calls_by_route.values() for route in c},
        "sendgrid": sandbox.sendgrid.stats.as_dict(),
        "sendgrid_sent": len(sandbox.sendgrid.sent),
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
        ("visma", "visma.good", True),
        ("visma", "visma.rotated", False),
        ("visma", "visma.good", False),
        ("visma", "visma.good", False),
        ("slack", "slack.good", True),
        ("slack", "slack.revoked", False),
        ("slack", "slack.good", False),
        ("twilio", "twilio.good", True),
        ("twilio", "twilio.changed", False),
        ("twilio", "twilio.missing", False),
        ("twilio", "twilio.good", False),
        ("twilio", "twilio.good", False),
        ("twilio", "twilio.good", True),
        ("twilio", "twilio.good", False),
        ("sendgrid", "sendgrid.good", True),
        ("sendgrid", "sendgrid.revoked", False),
        ("sendgrid", "sendgrid.stats-only", False),
        ("monday", "monday.good", True),
        ("monday", "monday.expired", False),
        ("monday", "monday.good", False),
        ("monday", "monday.good", False),
        ("airbase", "airbase.good", True),
        ("airbase", "airbase.revoked", False),
        ("bill", "bill.password", True),
        ("bill", "bill.old-password", False),
    ]
    good_visma, rotated, read_only, low_budget, *results_rest = results
    assert re.fullmatch(
        r"2 company\(ies\) readable \(tenant-se-1, tenant-no-1\); scopes granted; "
        r"499 of 500 requests left this hour in tenant-se-1 \(resets in \d+ s\)",
        good_visma.detail,
    )
    assert good_visma.headroom == {"requests_left_this_hour": 499.0}
    assert rotated.detail.startswith(
        f"client {DEMO_CLIENT_ID} for tenant-se-1: Visma Connect refused the token request (400)"
    )
    assert "invalid_client" in rotated.detail
    assert "mlc secrets set visma.rotated" in rotated.action
    assert "invalid_scope" in read_only.detail
    assert "vismanet_erp_service_api:update" in read_only.detail
    assert "; 498 of 500 requests left this hour in tenant-se-1 (resets in " in low_budget.detail
    assert low_budget.action.startswith("fewer than 499 left")
    assert low_budget.headroom == {"requests_left_this_hour": 498.0}
    good_slack, revoked, outside, good_twilio, changed, missing, *others = results_rest
    no_sms, not_owned, pool, no_pool, good_sendgrid, sg_revoked, stats_only, *others = others
    assert pool.detail.endswith(
        f"; Messaging Service {DEMO_MESSAGING_SERVICE_SID} with 1 sender(s)"
    )
    assert no_pool.detail.endswith(f"; no Messaging Service MG{'ab' * 16} in the account")
    assert good_twilio.detail == (
        f"account {DEMO_ACCOUNT_SID} active (Full); From {DEMO_FROM} owned, SMS-capable"
    )
    assert no_sms.detail.endswith("From +15005550007 cannot send SMS")
    assert not_owned.detail.endswith("the account does not own From +46700000999")
    assert good_sendgrid.detail == "key valid; scopes include mail.send"
    assert sg_revoked.detail.startswith("SendGrid refused the API key: The provided")
    assert "mlc secrets set sendgrid.revoked" in sg_revoked.action
    assert stats_only.detail == "key valid; missing scopes: mail.send"
    good_monday, expired, no_board, daily_low, *others = others
    good_airbase, refused, good_bill, old_password = others
    # monday counts the token's calls of the day: me, board, platform_api so far.
    assert good_monday.detail.endswith("; 9997 of 10000 calls left today")
    assert good_monday.headroom["calls_left_today"] == 9997
    assert "complexity_left_this_minute" in good_monday.headroom
    assert daily_low.detail.endswith("; 9993 of 10000 calls left today")
    assert daily_low.action.startswith("fewer than 9999 left")
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
    assert changed.detail.startswith(f"Twilio refused the credentials for {DEMO_ACCOUNT_SID}")
    assert "mlc secrets set twilio.changed" in changed.action
    assert missing.detail == "credential 'twilio.missing' is not in the vault"
    assert missing.action == "store it: mlc secrets set twilio.missing"
    assert all(r.latency_ms >= 0 for r in results)
    # Only reads reached the sandboxes: no post, no update, no SMS, no email.
    assert after["visma_record_changes"] == 0
    assert after["visma_routes"] == {"/v1/supplier"}
    assert after["sendgrid"] == {"accepted": 0, "refused": {"401": 1}}
    assert after["sendgrid_sent"] == 0
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
    assert len(lines) == len(results) + 1 == 26
    assert lines[-1] == "8 OK, 17 failed"
    assert lines[5].split()[:3] == ["slack", "slack.revoked", "FAIL"]
    # The lines never show a secret.
    assert not any(s.get_secret_value() in "\n".join(lines) for s in VAULT.values())


def test_all_good_exits_zero_and_filters_pick_entries(capsys: pytest.CaptureFixture[str]) -> None:
    results, _ = _checked(CONFIG, system="sendgrid", credential="sendgrid.good")

    assert [(r.system, r.credential, r.ok) for r in results] == [
        ("sendgrid", "sendgrid.good", True)
    ]
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
        "visma", "slack", "twilio", "sendgrid", "monday", "airbase", "bill"
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


def test_the_help_names_the_variables_the_vault_reads(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    named = set(re.findall(r"\bMLC_[A-Z_]+\b", capsys.readouterr().out))
    monkeypatch.setenv("MLC_MASTER_KEY", "named-in-the-help")
    monkeypatch.setenv("MLC_MASTER_KEY_FILE", "/named/in/the/help")

    settings = VaultSettings()

    assert named == {"MLC_MASTER_KEY", "MLC_MASTER_KEY_FILE"}
    assert settings.master_key is not None
    assert settings.master_key.get_secret_value() == "named-in-the-help"
    assert str(settings.master_key_file) == "/named/in/the/help"
