"""Typed async client for the Slack Web API methods the connector needs.

Build it with an `httpx.AsyncClient` based at `https://slack.com/api` or the sandbox's
`/slack/api`; errors say whether a retry can help (see `slack_client.errors`).
"""

from slack_client.client import DEFAULT_BASE_URL, SlackClient, classify
from slack_client.errors import (
    SlackChannelError,
    SlackCredentialError,
    SlackError,
    SlackRateLimited,
    SlackRequestError,
    SlackServerError,
    SlackUnavailable,
)
from slack_client.models import MessageMetadata, PostedMessage, SlackUser, SlackUserProfile

__all__ = [
    "DEFAULT_BASE_URL",
    "MessageMetadata",
    "PostedMessage",
    "SlackChannelError",
    "SlackClient",
    "SlackCredentialError",
    "SlackError",
    "SlackRateLimited",
    "SlackRequestError",
    "SlackServerError",
    "SlackUnavailable",
    "SlackUser",
    "SlackUserProfile",
    "classify",
]
