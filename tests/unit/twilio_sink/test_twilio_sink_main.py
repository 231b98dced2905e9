"""`mlc run twilio-sink` options: what the command line becomes, and what it refuses."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from chassis.settings import ServiceSettings
from twilio_sink.credentials import CredentialSource, MissingCredentialError, resolve
from twilio_sink.delivery import SmsSender
from twilio_sink.inject import SinkConfigError, SinkOptions, check_options
from twilio_sink.main import main, options_from, parser

pytestmark = pytest.mark.unit

ACCOUNT = "AC" + "0" * 32


def test_the_command_line_names_vault_credentials_topics_and_the_cap() -> None:
    args = parser().parse_args(
        [
            "--account-sid", ACCOUNT, "--auth-credential", "twilio-token",
            "--from", "+46700000001", "--status-callback", "https://mlc.example/cb",
            "--sendgrid-credential", "sendgrid-key", "--email-from", "alerts@mlc.example",
            "--account-cap", "5", "--sms-topic", "run.x.sink.twilio-sms.v1",
            "--sms-ledger-topic", "run.x.state.twilio-sms-ledger.v1",
        ]
    )  # fmt: skip
    options = options_from(args, ServiceSettings())
    assert options.auth == CredentialSource(vault_name="twilio-token")
    assert options.sendgrid == CredentialSource(vault_name="sendgrid-key")
    assert options.sender == SmsSender(
        from_="+46700000001", status_callback="https://mlc.example/cb"
    )
    assert options.account_cap == 5
    assert options.sms_topic.name == "run.x.sink.twilio-sms.v1"
    assert options.sms_ledger_topic.name == "run.x.state.twilio-sms-ledger.v1"
    assert options.sms_ledger_topic.partitions == options.sms_topic.partitions
    check_options(options)


def _options(**changes: object) -> SinkOptions:
    base: dict[str, object] = {
        "account_sid": ACCOUNT,
        "auth": CredentialSource(value=SecretStr("token-1234")),
        "sender": SmsSender(from_="+46700000001"),
    }
    return SinkOptions(**(base | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"sender": SmsSender()}, "exactly one"),
        ({"sendgrid": CredentialSource(vault_name="sg")}, "--email-from"),
        ({"account_cap": 0}, "--account-cap"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused(changes: dict[str, object], says: str) -> None:
    with pytest.raises(SinkConfigError, match=says):
        check_options(_options(**changes))


def test_without_a_sendgrid_key_the_sink_sends_sms_only() -> None:
    assert not _options().sends_email


def test_a_missing_secret_is_refused_and_a_vault_is_opened_only_when_named() -> None:
    opened: list[str] = []

    def vault() -> object:
        opened.append("vault")
        raise AssertionError("the vault is not needed")

    secrets = resolve({"twilio": CredentialSource(value=SecretStr("token-1234"))}, vault=vault)  # type: ignore[arg-type]
    assert secrets["twilio"].get_secret_value() == "token-1234"
    assert opened == []
    with pytest.raises(MissingCredentialError, match="sendgrid"):
        resolve({"sendgrid": CredentialSource()}, vault=vault)  # type: ignore[arg-type]


def test_main_exits_2_without_a_twilio_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    assert main(["--account-sid", ACCOUNT, "--from", "+46700000001"]) == 2
