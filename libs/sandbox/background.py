"""Work a simulator does on its own after answering, such as delivering webhooks.

The request that caused it never waits for it (the real systems answer first and deliver
later); tests wait for it with `drain`, and the app cancels it at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        """Runs `work` on the running event loop; call from the loop."""
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Waits for every task under way, including those they start meanwhile."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def cancel(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await self.drain()
