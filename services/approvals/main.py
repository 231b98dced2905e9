"""`mlc run approvals`: turn Slack reactions and replies into Visma approvals until stopped."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from approvals.config import ApprovalsConfigError, ApprovalsSettings, load_config
from approvals.inject import SERVICE, ApprovalsOptions, build
from chassis.jsonlog import configure_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings, ServiceSettings
from slack_client.client import DEFAULT_BASE_URL
from slack_client.workspaces import WorkspaceSpecError, environment_tokens, workspace_pairs

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run approvals",
        description="Read Slack reactions and thread replies (slack.event.v1), match them to the "
        "Visma record their message is about, check the person may approve, and send the "
        "configured Visma action to the Visma writer (sink.visma-writer.v1). The writer "
        "applies it and then sends the thread confirmation (or says why not) through the "
        "Slack sink (sink.slack.v1); this service posts nothing to Slack itself.",
    )
    p.add_argument("--config", type=Path, required=True, help="the approvals YAML file")
    p.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="NAME=ENV_VAR",
        help="a workspace and the environment variable holding its bot token, for "
        "users.lookupByEmail (repeatable; default, when no --workspace-credential either: "
        "default=SLACK_BOT_TOKEN)",
    )
    p.add_argument(
        "--workspace-credential",
        action="append",
        default=[],
        metavar="NAME=CREDENTIAL",
        help="a workspace and the name of its bot token in the credential vault "
        "(`mlc secrets set CREDENTIAL`); re-read when Slack rejects the token, no restart",
    )
    p.add_argument(
        "--api-base", default=DEFAULT_BASE_URL, help=f"Slack Web API base ({DEFAULT_BASE_URL})"
    )
    p.add_argument("--group-id", help="consumer group (default mlc-approvals)")
    p.add_argument("--topic-prefix", help="prefix of every topic (test stacks)")
    p.add_argument("--ledger-topic", help="the Slack sink's ledger topic, if not the default")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    service = ServiceSettings()
    configure_logging(SERVICE, service.log_level)
    try:
        options = options_from(args)
        config = load_config(args.config)
    except (WorkspaceSpecError, ApprovalsConfigError) as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return 2
    overrides = {
        name: value
        for name, value in (
            ("group_id", args.group_id),
            ("topic_prefix", args.topic_prefix),
            ("ledger_topic", args.ledger_topic),
        )
        if value
    }
    settings = ApprovalsSettings().model_copy(update=overrides)
    run_service(
        lambda: build(KafkaSettings(), settings, config, options), health_port=service.health_port
    )
    return 0


def options_from(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ
) -> ApprovalsOptions:
    """The workspaces' tokens (environment) and credential names (vault) the options name."""
    stored = workspace_pairs(
        "--workspace-credential", args.workspace_credential, metavar="NAME=CREDENTIAL"
    )
    return ApprovalsOptions(
        tokens=environment_tokens(args.workspace, default=not stored, environ=environ),
        vault_credentials=stored,
        api_base=args.api_base,
        instance_id=environ.get("MLC_GROUP_INSTANCE_ID") or None,
    )
