"""The bounded field types every webhook body and header is read into, before any use.

A signed request is not a harmless one: a sender's bug, a replayed capture or a leaked key
can put anything in a field. Every value is therefore bounded where it is read, so nothing
downstream (datetime conversion, Avro's 32- and 64-bit integers, the Kafka record size)
meets a value it cannot hold, and the refusal names the field instead of a 500.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, ValidationError

from ingress.errors import RejectedNotificationError

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
"""An id, a type or a name: Slack's and Visma's are tens of characters."""
OptionalName = Annotated[str | None, StringConstraints(max_length=255)]
Stamp = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""A timestamp carried as text, such as Slack's "1772445600.000100"."""
OptionalStamp = Annotated[str | None, StringConstraints(max_length=64)]
MessageText = Annotated[str | None, StringConstraints(max_length=40_000)]
"""Slack truncates a message's text at 40,000 characters."""
EpochSeconds = Annotated[int, Field(ge=0, le=253_402_300_799)]
"""Seconds since 1970 up to the last second of year 9999, the most a datetime holds."""
RetryNumber = Annotated[int, Field(ge=0, le=1000)]
"""Slack retries an event three times; the bound keeps it far inside Avro's int."""


def first_problem(exc: ValidationError) -> RejectedNotificationError:
    """A 400 that names the first field in error and why, never echoing the value."""
    first = exc.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return RejectedNotificationError(400, f"{where}: {first['msg']}")
