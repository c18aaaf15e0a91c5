"""What the program hands to the messenger: a message, whom it is for, what it is, its identity.

``key`` names the message deterministically (e.g. ``broadcast:17`` or ``reminder:stuck:2026-W48``);
the transport derives the idempotency id from it, so a retry or a resume after a crash never gives
a person the same message twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

from core.ui import Reply

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

    @property
    def random_id(self) -> int:
        return random_id_for(self.key)


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

    async def enqueue_bulk(self, job: str, messages: Sequence[Outgoing]) -> int:
        """Persist a bulk job before the first request; it survives crashes and restarts."""

    def forget(self, peer_id: int) -> None:
        """Drop bulk messages to this person that wait in memory (their data was erased)."""
