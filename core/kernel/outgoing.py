"""What the program hands to the messenger: a message, whom it is for, what it is, its identity.

``key`` names the message deterministically (e.g. ``broadcast:17`` or ``reminder:stuck:2026-W48``);
the transport derives the idempotency id from it, so a retry or a resume after a crash never gives
a person the same message twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from collections.abc import AsyncIterable, Iterable
from typing import Literal, Protocol, Sequence, Union

from core.kernel.ui import Reply

# reply: an answer to what the person just wrote; notice: news about their own application or
# question (status change, coordinator's answer); reminder/survey/broadcast: bulk messages.
Kind = Literal["reply", "notice", "reminder", "survey", "broadcast"]
Status = Literal["delivered", "not_allowed", "failed"]


@dataclass(frozen=True)
class Outgoing:
    peer_id: int
    reply: Reply
    kind: Kind
    key: str
    # Whom a notice to someone else is about (a question's author, a staff member): a notice
    # that waits for its recipient to write is erased with that person's data.
    about: int | None = None

    @property
    def random_id(self) -> int:
        return random_id_for(self.key)


@dataclass(frozen=True)
class Multicast:
    """One message (the same text, key and kind) to many people: a bulk producer yields one per
    chunk of its audience instead of one Outgoing per person."""

    peer_ids: Sequence[int]
    reply: Reply
    kind: Kind
    key: str


# What a bulk producer hands over: any mix of both, as a list or streamed chunk by chunk.
BulkMessages = Union[Iterable["Outgoing | Multicast"], AsyncIterable["Outgoing | Multicast"]]


@dataclass(frozen=True)
class Delivery:
    peer_id: int
    key: str
    status: Status
    message_id: int | None = None
    error: str | None = None


def random_id_for(key: str) -> int:
    """A positive 31-bit id from the key: VK keeps the first message sent with it to a peer."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2**31 - 1) + 1


class Messenger(Protocol):
    """The seam a transport plugs into (VK now, MAX next)."""

    async def send(self, messages: Sequence[Outgoing]) -> list[Delivery]:
        """Deliver now (coalesced with whatever else is waiting) and report each message."""

    async def edit(self, peer_id: int, message_id: int, reply: Reply) -> bool: ...

    async def enqueue_bulk(self, job: str, messages: BulkMessages, complete: bool = True) -> int:
        """Persist a bulk job before its requests, chunk by chunk as ``messages`` stream in (the
        first chunk is sent while the next is read); it survives crashes and restarts. The job
        is marked complete (its whole audience queued) at the end unless ``complete`` is False.
        A job is one message per person (the same person, part and job is queued once)."""

    def forget(self, peer_id: int) -> None:
        """Drop bulk messages to this person that wait in memory (their data was erased)."""
