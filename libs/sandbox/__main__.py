"""Command line entry: ``python -m sandbox --host 127.0.0.1 --port 18080``.

``--slack-events-url URL`` makes the Slack simulator deliver Events API callbacks there
(reactions and thread replies made through ``/slack/_sandbox/reactions|replies``).
``--twilio-failure-rate``, ``--twilio-callback-mode`` and ``--twilio-concurrency-limit`` set
the Twilio simulator's share of failed messages, how status callbacks are delivered and how
many requests the demo account may have in flight (all also under ``twilio:`` in --config).
``--bill-webhook-mode`` (``retry``, BILL's docs, or ``once``, the seed) and
``--bill-drop-rate`` set how the BILL simulator delivers webhooks (``bill.webhooks`` in --config).
``--airbase-profile FILE`` sets the Airbase simulator's auth scheme, paths and field names from
the profile YAML the Airbase client reads too (``airbase.profile`` in --config).

Prints one line once the server is really listening (with the bound port, so ``--port 0``
works for scripts) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import uvicorn
import yaml

from sandbox.airbase.config import AirbaseConfig
from sandbox.airbase.profile import AirbaseProfile
from sandbox.app import create_app
from sandbox.bill.config import BillConfig, BillWebhookConfig
from sandbox.config import SandboxConfig
from sandbox.twilio.config import TwilioConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--config", type=Path, help="YAML file shaped like SandboxConfig")
    parser.add_argument("--seed", type=int, help="dataset seed (default 42)")
    parser.add_argument("--invoices", type=int, help="Visma invoices per company")
    parser.add_argument(
        "--records", type=int, help="Visma records of each other entity per company (default 10)"
    )
    parser.add_argument("--clock-speed", type=float, help="simulated seconds per real second")
    parser.add_argument("--token-ttl", type=int, help="Visma token lifetime in seconds")
    parser.add_argument("--hourly-budget", type=int, help="Visma calls per hour per company")
    parser.add_argument("--max-page-size", type=int, help="Visma maxPageSize")
    parser.add_argument(
        "--slack-events-url",
        help="where Slack Events API callbacks go (signing secret: --config or the admin API)",
    )
    parser.add_argument(
        "--twilio-failure-rate", type=float, help="share of SMS ending undelivered or failed"
    )
    parser.add_argument(
        "--twilio-callback-mode",
        choices=["once", "at_least_once", "out_of_order"],
        help="how Twilio status callbacks are delivered",
    )
    parser.add_argument(
        "--twilio-concurrency-limit",
        type=int,
        help="Twilio requests in flight per account before 20429",
    )
    parser.add_argument(
        "--bill-webhook-mode",
        choices=["retry", "once"],
        help="BILL webhooks retried with backoff until disabled (retry) or sent once",
    )
    parser.add_argument(
        "--bill-drop-rate", type=float, help="share of BILL webhook events never sent"
    )
    parser.add_argument(
        "--airbase-profile",
        type=Path,
        help="YAML profile of Airbase's auth scheme, paths and field names",
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> SandboxConfig:
    raw: dict[str, object] = {}
    if args.config is not None:
        raw = yaml.safe_load(args.config.read_text()) or {}
    config = SandboxConfig.model_validate(raw)
    if args.seed is not None:
        config.seed = args.seed
    if args.clock_speed is not None:
        config.clock_speed = args.clock_speed
    visma_overrides = {
        "invoices_per_company": args.invoices,
        "records_per_company": args.records,
        "token_ttl_seconds": args.token_ttl,
        "hourly_budget": args.hourly_budget,
        "max_page_size": args.max_page_size,
    }
    updates = {k: v for k, v in visma_overrides.items() if v is not None}
    visma = config.visma.model_validate({**config.visma.model_dump(), **updates})
    slack = config.slack
    if args.slack_events_url is not None:
        events = slack.events.model_copy(update={"url": args.slack_events_url})
        slack = slack.model_copy(update={"events": events})
    return config.model_copy(
        update={
            "visma": visma,
            "slack": slack,
            "twilio": _twilio(config, args),
            "bill": _bill(config, args),
            "airbase": _airbase(config, args),
        }
    )


def _airbase(config: SandboxConfig, args: argparse.Namespace) -> AirbaseConfig:
    if args.airbase_profile is None:
        return config.airbase
    profile = AirbaseProfile.model_validate(yaml.safe_load(args.airbase_profile.read_text()) or {})
    return config.airbase.model_copy(update={"profile": profile})


def _bill(config: SandboxConfig, args: argparse.Namespace) -> BillConfig:
    overrides = {"mode": args.bill_webhook_mode, "drop_rate": args.bill_drop_rate}
    updates = {k: v for k, v in overrides.items() if v is not None}
    if not updates:
        return config.bill
    webhooks = BillWebhookConfig.model_validate({**config.bill.webhooks.model_dump(), **updates})
    return config.bill.model_copy(update={"webhooks": webhooks})


def _twilio(config: SandboxConfig, args: argparse.Namespace) -> TwilioConfig:
    twilio = config.twilio.model_copy(deep=True)
    if args.twilio_failure_rate is not None:
        twilio = TwilioConfig.model_validate(
            {**twilio.model_dump(), "failure_rate": args.twilio_failure_rate}
        )
    if args.twilio_callback_mode is not None:
        twilio.callbacks.mode = args.twilio_callback_mode
    if args.twilio_concurrency_limit is not None:
        for account in twilio.accounts:
            account.concurrency_limit = args.twilio_concurrency_limit
    return twilio


async def serve(args: argparse.Namespace) -> None:
    app = create_app(build_config(args))
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=args.host, port=args.port, log_level=args.log_level, date_header=False
        )
    )
    task = asyncio.create_task(server.serve())
    # uvicorn exposes readiness only as a flag, so poll it briefly.
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if server.started:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        print(f"sandbox listening on http://{host}:{port}", flush=True)
    await task


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
