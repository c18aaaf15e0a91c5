"""Long polling of GET /updates with a marker the caller persists.

The marker of a batch is saved only after every update of the batch was handed to `handle`, and
passed to MAX only after it was saved: a crash anywhere gets the unsaved batch again (at least
once; recognise repeats with updates.update_key), and nothing is committed before it is handled —
the bug maxapi fixed in PR #200 (MAX_PROTOCOL.md §2). MAX itself keeps no marker per bot for us.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from .api import MaxApi
from .errors import MaxError, MaxTokenError

log = logging.getLogger(__name__)

Handle = Callable[[dict[str, Any]], Awaitable[None]]
LoadMarker = Callable[[], Awaitable[int | None]]
SaveMarker = Callable[[int], Awaitable[None]]


class MaxPoller:
    """Fetch → handle each update in order → save the marker → fetch with it."""

    def __init__(
        self,
        api: MaxApi,
        handle: Handle,
        load_marker: LoadMarker,
        save_marker: SaveMarker,
        *,
        timeout: int = 30,
        limit: int = 100,
        types: Iterable[str] | None = None,
        error_pause: tuple[float, float] = (5.0, 60.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.api = api
        self._handle = handle
        self._load = load_marker
        self._save = save_marker
        self.timeout = timeout
        self.limit = limit
        self.types = tuple(types) if types else None
        # After MAX refused or failed even with the client's retries: pause 5 s doubling to
        # 60 s (the TS client's schedule; MAX documents none).
        self.error_pause = error_pause
        self._sleep = sleep
        self.marker: int | None = None
        self._loaded = False

    async def poll_once(self) -> int:
        """One long poll; the number of updates handled."""
        if not self._loaded:
            self.marker = await self._load()
            self._loaded = True
        batch = await self.api.get_updates(self.marker, self.timeout, self.limit, self.types)
        for update in batch.updates:
            await self._handle(update)
        if batch.marker is not None and batch.marker != self.marker:
            await self._save(batch.marker)
            self.marker = batch.marker
        return len(batch.updates)

    async def run(self) -> None:
        """Poll until cancelled; a bad token stops it (MaxTokenError is raised)."""
        pause = self.error_pause[0]
        while True:
            try:
                await self.poll_once()
            except MaxTokenError:
                raise
            except MaxError as exc:
                log.warning("MAX polling failed (%s); again in %.0f s", type(exc).__name__, pause)
                await self._sleep(pause)
                pause = min(pause * 2, self.error_pause[1])
                continue
            pause = self.error_pause[0]


__all__ = ["MaxPoller"]
