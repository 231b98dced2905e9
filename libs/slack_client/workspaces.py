"""Which Slack workspaces a service talks to, and where each workspace's bot token is.

Every service that calls Slack takes the same command-line pairs: `--workspace NAME=ENV_VAR`
(the token is in an environment variable) and, in the sink, `--workspace-credential
NAME=CREDENTIAL` (the token is in the credential vault). Parsing them here keeps the options,
the default workspace and the error messages the same everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.tokens import TokenSpecError, named_pairs
from chassis.tokens import environment_tokens as chassis_environment_tokens
from slack_client.errors import SlackError

__all__ = [
    "DEFAULT_WORKSPACE",
    "WorkspaceSpecError",
    "environment_tokens",
    "workspace_pairs",
]

DEFAULT_WORKSPACE = "default=SLACK_BOT_TOKEN"
"""The workspace a service uses when no workspace option is given."""


class WorkspaceSpecError(SlackError, PermanentError):
    """A workspace option is malformed or names an unset variable; a restart with a fixed
    option is the only cure. Not an answer from Slack, so `error` is empty."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error="")


def workspace_pairs(option: str, specs: Sequence[str], *, metavar: str) -> dict[str, str]:
    """`NAME=VALUE` options as workspace -> value; `metavar` names the expected form."""
    try:
        return named_pairs(option, specs, metavar=metavar)
    except TokenSpecError as exc:
        raise WorkspaceSpecError(str(exc)) from None


def environment_tokens(
    specs: Sequence[str],
    *,
    default: bool = True,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, SecretStr]:
    """Workspace -> bot token from `--workspace NAME=ENV_VAR` options.

    With no option and `default`, the one workspace of `DEFAULT_WORKSPACE`. An unset or
    empty variable is an error now rather than an invalid_auth at the first message.
    """
    chosen = list(specs) or ([DEFAULT_WORKSPACE] if default else [])
    try:
        return chassis_environment_tokens("--workspace", chosen, kind="workspace", environ=environ)
    except TokenSpecError as exc:
        raise WorkspaceSpecError(str(exc)) from None
