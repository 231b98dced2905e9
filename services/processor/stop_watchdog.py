"""The last word when the processor gives up a record it holds.

A record whose schema is unknown is held, and when its partition goes away (the worker stops
or a rebalance starts) the handler raises `PartitionMovedError` so that nothing past it is
committed: the agent crashes on purpose and the worker stops. faust sometimes never finishes
that stop (seen under load: "Crashed reason=PartitionMovedError", then no exit, until
Kubernetes' SIGKILL). Nothing is lost by leaving at once then: the held record and everything
after it were never committed, and the batch's open transaction is aborted by the broker. So
once a record is given up, a watchdog ends the process a grace period later if it is still
there, with an exit status that says why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

GRACE_SECONDS = 20.0
"""How long a clean stop may take after a held record is given up."""
EXIT_STATUS = 75
"""EX_TEMPFAIL: the process left without a clean stop; a restart resumes from the commits."""


class StopWatchdog:
    def __init__(
        self,
        grace_seconds: float = GRACE_SECONDS,
        *,
        leave: Callable[[int], object] = os._exit,
    ) -> None:
        self._grace = grace_seconds
        self._leave = leave
        self._armed = threading.Event()
        self.fired = threading.Event()
        """Set after `leave` returned (never, with the real `os._exit`)."""

    def arm(self) -> None:
        """Starts the countdown once; later calls change nothing."""
        if self._armed.is_set():
            return
        self._armed.set()
        threading.Thread(target=self._countdown, name="stop-watchdog", daemon=True).start()

    def _countdown(self) -> None:
        time.sleep(self._grace)  # a countdown, not a wait on anything
        log.error(
            "the processor did not stop within the grace period after giving up a held "
            "record; leaving now (nothing past it was committed)",
            extra={"grace_seconds": self._grace, "exit_status": EXIT_STATUS},
        )
        for handler in logging.getLogger().handlers:
            # a handler whose stream is gone must not keep the process here
            with contextlib.suppress(OSError, ValueError):
                handler.flush()
        self._leave(EXIT_STATUS)
        self.fired.set()  # only a test's `leave` returns: it may look once `fired` is set
