"""Faithful simulators of the external APIs ml-connector talks to.

The demo and every test run against these simulators instead of the live services, so
real clients must work against them by configuration alone (a base URL and credentials).
One ASGI app mounts each system under its own prefix (``/visma``, ``/slack``); each
system also exposes a ``/_sandbox`` admin API for seeding, fault injection, statistics and
clock control. All per-run state lives in objects built by :func:`create_app`.
"""

from sandbox.app import Sandbox, create_app
from sandbox.clock import SandboxClock
from sandbox.config import (
    SandboxConfig,
    SlackConfig,
    SlackEventsConfig,
    VismaClientRegistration,
    VismaConfig,
)

__all__ = [
    "Sandbox",
    "SandboxClock",
    "SandboxConfig",
    "SlackConfig",
    "SlackEventsConfig",
    "VismaClientRegistration",
    "VismaConfig",
    "create_app",
]
