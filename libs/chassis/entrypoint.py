"""What a service's `main` does before it builds: its logging set up, its configuration file
read (a mistake is logged and the process ends with EXIT_BAD_CONFIGURATION, before anything
connects), its settings overridden by the options the operator gave.

Every `mlc run` service starts these three steps the same way; keeping them here keeps the
exit status and the `bad configuration` log line the same everywhere (operators and the
end-to-end tests look for both).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from chassis.jsonlog import configure_logging
from chassis.settings import ServiceSettings

__all__ = ["EXIT_BAD_CONFIGURATION", "read_configuration", "service_logging", "with_options"]

log = logging.getLogger(__name__)

EXIT_BAD_CONFIGURATION = 2

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def service_logging(service: str) -> ServiceSettings:
    """The deployment's service settings, with JSON logging configured at their level."""
    settings = ServiceSettings()
    configure_logging(service, settings.log_level)
    return settings


def read_configuration(
    load: Callable[[], T], *, invalid: type[Exception] | tuple[type[Exception], ...]
) -> T | None:
    """`load()`, or None when it raised `invalid` (logged as `bad configuration` with the
    message, which names the file, line and field): the caller exits with
    EXIT_BAD_CONFIGURATION."""
    try:
        return load()
    except invalid as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return None


def with_options(settings: M, **options: object) -> M:
    """`settings` with each option the operator gave (not None or empty) in place of the
    environment's value."""
    given = {name: value for name, value in options.items() if value}
    return settings.model_copy(update=given) if given else settings
