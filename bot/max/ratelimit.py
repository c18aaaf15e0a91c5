"""Request windows: never more than N requests reach MAX in any `period` seconds.

What MAX documents and what is ours (../shared/MAX_PROTOCOL.md §1):
- 30 requests/s per bot is quoted from MAX by a third party (green-api FAQ); dev.max.ru and the
  schema only say that over the limit the answer is HTTP 429. We keep 30 as the default.
- ≤2 messages/s into one dialog is on dev.max.ru (POST /messages: "otherwise queue").
- How MAX measures its second (a sliding or a fixed window, on arrival) is not documented.
  We hold the strictest reading: no `period`-long interval, anywhere, holds more than N arrivals.

Why a slot is freed `period` after the request's *answer* and not after it was *started*: a
request granted at t may reach MAX later than t (event loop, network), and if window slots
were counted from grant times, 31 requests could land inside one server-side second. A request
arrives at MAX between its start and its answer, so once N answered requests are each older than
`period` the next one can never make N+1 arrivals inside one period, whatever the latency.
A request still in flight (a long poll too) keeps its slot. The cost is the round-trip time:
N / (period + rtt) requests/s, i.e. ~0.99 of 30/s on loopback and ~0.9 at 100 ms latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable


class RequestWindow:
    """At most `rate` requests in flight or answered less than `period` seconds ago.

    Waiters are served first come, first served (the asyncio.Lock queue)."""

    def __init__(self, rate: int = 30, period: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1 or period <= 0:
            raise ValueError("rate must be >= 1 and period > 0")
        self.rate = rate
        self.period = period
        self._clock = clock
        self._answered: deque[float] = deque()  # answer times, oldest first
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def busy(self) -> bool:
        """Someone holds or waits for a slot, or a slot is still counted."""
        self._expire(self._clock())
        return bool(self._in_flight or self._answered or self._lock.locked())

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the duration of one request."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._expire(now)
                if self._in_flight + len(self._answered) < self.rate:
                    self._in_flight += 1
                    return
                self._released.clear()
                if self._answered:
                    # Sleep until the oldest answered request leaves the window (or a request
                    # in flight is answered: it does not free a slot, but re-check anyway).
                    delay = self._answered[0] + self.period - now
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(delay, 0.0)):
                            await self._released.wait()
                else:
                    await self._released.wait()  # every slot is in flight

    def _release(self) -> None:
        self._in_flight -= 1
        self._answered.append(self._clock())
        self._released.set()

    def _expire(self, now: float) -> None:
        answered = self._answered
        while answered and now - answered[0] >= self.period:
            answered.popleft()


class KeyedWindows:
    """One RequestWindow per key (e.g. per dialog), created on demand, pruned when idle."""

    def __init__(self, rate: int, period: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, prune_above: int = 1024) -> None:
        self.rate = rate
        self.period = period
        self._clock = clock
        self._prune_above = prune_above
        self._windows: dict[Hashable, RequestWindow] = {}

    def slot(self, key: Hashable) -> contextlib.AbstractAsyncContextManager[None]:
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self._prune_above:
                self._prune()
            window = self._windows[key] = RequestWindow(self.rate, self.period, self._clock)
        return window.slot()

    def _prune(self) -> None:
        # Only a window nobody holds, waits for or still counts can go: a new one for the same
        # key then starts empty without letting anything exceed the rate.
        self._windows = {k: w for k, w in self._windows.items() if w.busy()}


__all__ = ["KeyedWindows", "RequestWindow"]
