"""`mlc run twilio-sink`: send SMS and email commands from Kafka through Twilio until stopped."""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from datetime import timedelta

from pydantic import SecretStr

from chassis.errors import ConnectorError
from chassis.jsonlog import configure_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings, ServiceSettings
from twilio_client import DEFAULT_BASE_URL, SENDGRID_BASE_URL
from twilio_sink.credentials import CredentialSource
from twilio_sink.delivery import SmsSender
from twilio_sink.inject import DEFAULT_ACCOUNT_CAP, SERVICE, SinkOptions, build, check_options

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run twilio-sink",
        description="Send SendSms and SendEmail commands through Twilio (SMS) and SendGrid "
        "(email): each once, one in flight per recipient, at most --account-cap per account.",
    )
    p.add_argument("--account-sid", required=True, help="the Twilio account (AC...)")
    p.add_argument(
        "--api-key-sid", help="authenticate with this API key (SK...) instead of the Auth Token"
    )
    p.add_argument(
        "--auth-credential",
        help="name in the credential vault of the Auth Token (or the API key's secret); "
        "default: the TWILIO_AUTH_TOKEN environment variable",
    )
    sender = p.add_mutually_exclusive_group(required=True)
    sender.add_argument("--from", dest="from_", help="the sending number (E.164)")
    sender.add_argument("--messaging-service-sid", help="send through this Messaging Service")
    p.add_argument(
        "--status-callback",
        help="the public URL Twilio POSTs status callbacks to (the ingress's "
        "/webhooks/twilio/status as the outside world reaches it)",
    )
    p.add_argument(
        "--no-statuses",
        action="store_true",
        help="do not apply the status callbacks the ingress stores (another process does)",
    )
    p.add_argument("--status-topic", help="override the status callbacks topic (tests)")
    p.add_argument("--status-state-topic", help="override the messages' status state topic")
    p.add_argument(
        "--status-group-id", help="consumer group of the status callbacks (default GROUP-status)"
    )
    p.add_argument(
        "--sendgrid-credential",
        help="name in the vault of the SendGrid API key (SG...); default: SENDGRID_API_KEY "
        "from the environment; with neither, email commands are not consumed",
    )
    p.add_argument("--email-from", help="the sender address of emails")
    p.add_argument("--email-from-name", help="the sender name of emails")
    p.add_argument("--api-base", default=DEFAULT_BASE_URL, help="Twilio REST API host")
    p.add_argument("--sendgrid-base", default=SENDGRID_BASE_URL, help="SendGrid API host")
    p.add_argument(
        "--account-cap",
        type=int,
        default=DEFAULT_ACCOUNT_CAP,
        help=f"calls in flight to the account at most (default {DEFAULT_ACCOUNT_CAP}); "
        "keep it at or under the account's concurrency limit so 20429 stays rare",
    )
    p.add_argument(
        "--request-timeout", type=float, default=15.0, help="seconds per call (default 15)"
    )
    p.add_argument("--group-id", default="mlc-twilio-sink", help="consumer group")
    p.add_argument("--sms-topic", help="override the SMS commands topic (tests)")
    p.add_argument("--email-topic", help="override the email commands topic (tests)")
    p.add_argument("--sms-ledger-topic", help="override the SMS ledger topic (tests)")
    p.add_argument("--email-ledger-topic", help="override the email ledger topic (tests)")
    p.add_argument(
        "--ledger-horizon-days",
        type=float,
        help="forget sent commands after this many days (default 40; must exceed the "
        "commands topics' retention)",
    )
    return p


def options_from(args: argparse.Namespace, service: ServiceSettings) -> SinkOptions:
    env_token = os.environ.get("TWILIO_AUTH_TOKEN")
    env_sendgrid = os.environ.get("SENDGRID_API_KEY")
    options = SinkOptions(
        account_sid=args.account_sid,
        api_key_sid=args.api_key_sid,
        auth=CredentialSource(
            vault_name=args.auth_credential,
            value=None if args.auth_credential or not env_token else SecretStr(env_token),
        ),
        sendgrid=CredentialSource(
            vault_name=args.sendgrid_credential,
            value=None if args.sendgrid_credential or not env_sendgrid else SecretStr(env_sendgrid),
        ),
        sender=SmsSender(
            from_=args.from_,
            messaging_service_sid=args.messaging_service_sid,
            status_callback=args.status_callback,
        ),
        email_from=args.email_from,
        email_from_name=args.email_from_name,
        group_id=args.group_id,
        api_base=args.api_base,
        sendgrid_base=args.sendgrid_base,
        account_cap=args.account_cap,
        request_timeout=args.request_timeout,
        instance_id=service.group_instance_id,
        retry_budget=service.retry_budget_seconds,
        apply_statuses=not args.no_statuses,
        status_group_id=args.status_group_id,
    )
    for attr, name in (
        ("sms_topic", args.sms_topic),
        ("email_topic", args.email_topic),
        ("sms_ledger_topic", args.sms_ledger_topic),
        ("email_ledger_topic", args.email_ledger_topic),
        ("status_topic", args.status_topic),
        ("status_state_topic", args.status_state_topic),
    ):
        if name:
            setattr(options, attr, replace(getattr(options, attr), name=name))
    if args.ledger_horizon_days:
        options.ledger_horizon = timedelta(days=args.ledger_horizon_days)
    return options


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    try:
        options = options_from(args, service)
        if not options.auth.configured:
            raise ConnectorError("no Twilio secret: give --auth-credential or TWILIO_AUTH_TOKEN")
        check_options(options)
    except (ConnectorError, ValueError) as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    run_service(lambda: build(KafkaSettings(), options), health_port=service.health_port)
    return 0
