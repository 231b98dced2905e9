"""Each workspace's bot token (the chassis's `HolderTokens`), and which Slack answers mean a
token is no longer accepted.

A token named by `--workspace-credential NAME=CREDENTIAL` lives in the credential vault and is
re-read when Slack rejects it; tokens from the environment (`--workspace NAME=ENV_VAR`) never
change (`chassis.tokens`).
"""

from __future__ import annotations

from chassis.tokens import HolderToken, HolderTokens

__all__ = ["REJECTED_TOKEN_ERRORS", "WorkspaceToken", "WorkspaceTokens"]

REJECTED_TOKEN_ERRORS = frozenset({"invalid_auth", "account_inactive", "token_revoked"})
"""Slack's answers meaning the token itself is no longer accepted (a new one is needed),
unlike missing_scope, which only a change to the Slack app can fix."""

WorkspaceToken = HolderToken
WorkspaceTokens = HolderTokens
