"""The messenger the core talks to when one or both messengers are on: each message goes to the
delivery engine of its recipient's messenger.

A person's internal id tells the messenger by its sign (storage/accounts.py: VK people keep
their positive VK id, MAX people get -1, -2, …), so routing needs no lookup. Bulk jobs are one
job in the outbox whatever the messengers of its audience: each engine queues and sends its own
people's rows, and the job's counters and report cover both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bot.vk.sender import ENQUEUE_CHUNK, ProgressHook, VkSender, _chunks
from core.kernel.clock import unix
from core.kernel.outgoing import BulkMessages, Delivery, Multicast, Outgoing
from core.kernel.ui import Reply
from storage.held import HeldNotice


def messenger_of(person_id: int) -> str:
    return "max" if person_id < 0 else "vk"


class Messengers:
    def __init__(self, engines: dict[str, VkSender]) -> None:
        if not engines:
            raise ValueError("at least one messenger")
        self.engines = engines
        self.progress_hooks: list[ProgressHook] = []
        for engine in engines.values():
            engine.progress_hooks = self.progress_hooks  # one list: a hook sees both
        self._any = next(iter(engines.values()))

    def engine(self, person_id: int) -> VkSender | None:
        return self.engines.get(messenger_of(person_id))

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.engines.values())

    async def start(self) -> None:
        for engine in self.engines.values():
            await engine.start()

    async def stop(self) -> None:
        for engine in self.engines.values():
            await engine.stop()

    async def idle(self) -> bool:
        return all([await e.idle() for e in self.engines.values()])

    async def send(self, messages: Sequence[Outgoing]) -> list[Delivery]:
        by_engine: dict[str, list[int]] = {}
        results: list[Delivery | None] = [None] * len(messages)
        for n, message in enumerate(messages):
            name = messenger_of(message.peer_id)
            if name in self.engines:
                by_engine.setdefault(name, []).append(n)
            else:
                results[n] = Delivery(message.peer_id, message.key, "failed",
                                      error=f"{name} is not enabled")
        sent = await asyncio.gather(*(
            self.engines[name].send([messages[n] for n in indexes])
            for name, indexes in by_engine.items()))
        for (name, indexes), deliveries in zip(by_engine.items(), sent):
            for n, delivery in zip(indexes, deliveries):
                results[n] = delivery
        return [d for d in results if d is not None]

    async def edit(self, peer_id: int, message_id: int, reply: Reply) -> bool:
        engine = self.engine(peer_id)
        return False if engine is None else await engine.edit(peer_id, message_id, reply)

    async def deliver_held(self, held: Sequence[HeldNotice]) -> None:
        for name, engine in self.engines.items():
            mine = [h for h in held if messenger_of(h.peer_id) == name]
            if mine:
                await engine.deliver_held(mine)

    async def enqueue_bulk(self, job: str, messages: BulkMessages, complete: bool = True) -> int:
        """Split the stream by messenger chunk by chunk; each engine queues its part in the
        same job (its texts carry its own keyboard format). The job is marked complete once."""
        added = 0
        async for chunk in _chunks(messages, ENQUEUE_CHUNK):
            parts: dict[str, list[Outgoing | Multicast]] = {}
            for m in chunk:
                if isinstance(m, Multicast):
                    if m.peer_ids and (min(m.peer_ids) > 0 or max(m.peer_ids) < 0):
                        # one messenger's people (always so for a bot serving one): as it is
                        parts.setdefault(messenger_of(m.peer_ids[0]), []).append(m)
                        continue
                    split: dict[str, list[int]] = {}
                    for peer in m.peer_ids:
                        split.setdefault(messenger_of(peer), []).append(peer)
                    for name, peers in split.items():
                        parts.setdefault(name, []).append(
                            Multicast(peers, m.reply, m.kind, m.key))
                else:
                    parts.setdefault(messenger_of(m.peer_id), []).append(m)
            for name, part in parts.items():
                engine = self.engines.get(name)
                if engine is not None:  # people of a messenger switched off are not queued
                    added += await engine.enqueue_bulk(job, part, complete=False)
        engine = self._any
        async with engine.db.transaction() as tx:
            job_id = await tx.outbox.upsert_job(job, unix(engine.clock))
            if complete:
                await tx.outbox.upsert_job_complete(job_id, unix(engine.clock))
        if complete:
            await engine._notify({job})
        return added

    async def cancel_bulk(self, job: str) -> int:
        return sum([await e.cancel_bulk(job) for e in self.engines.values()])

    def forget(self, peer_id: int) -> None:
        engine = self.engine(peer_id)
        if engine is not None:
            engine.forget(peer_id)

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """VK API methods (the VK platform's names and uploads)."""
        return await self.engines["vk"].call(method, params)
