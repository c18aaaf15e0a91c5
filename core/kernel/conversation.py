"""One incoming message or button press, as the core sees it, and how to answer it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from core.kernel.access import Access
from core.kernel.outgoing import Delivery, Outgoing
from core.kernel.payloads import Payload
from core.kernel.platform import IncomingFile
from core.kernel.ui import Reply
from storage.models import Person

if TYPE_CHECKING:
    from core.kernel.deps import Deps

T = TypeVar("T")


@dataclass(frozen=True)
class Incoming:
    peer_id: int
    text: str
    event_id: str
    payload: Payload | None = None
    bad_payload: bool = False
    attachments: tuple[str, ...] = ()  # attachment types: sticker, photo, doc, ...
    files: tuple[IncomingFile, ...] = ()  # photos and documents, with where to fetch them
    ref: str | None = None
    length: int = 0  # of the text as written, before the bot cut it to what it reads
    # The messenger it came from ("vk" or "max"); ``peer_id`` is the internal person id either
    # way (storage/accounts.py), so features never see a messenger's own ids.
    messenger: str = "vk"


@dataclass
class Conversation:
    """What a handler gets: the person (as loaded for this event), their rights, and a way to answer."""

    deps: "Deps"
    person: Person
    access: Access
    incoming: Incoming
    sent: list[Delivery] = field(default_factory=list)
    # What the routes worked out about ``incoming`` (see ``once``).
    memo: dict[str, tuple[Incoming, Any]] = field(default_factory=dict, repr=False,
                                                  compare=False)

    def once(self, key: str, work: Callable[[], T]) -> T:
        """``work()`` about this message, worked out once: about ten routes ask the same
        question of one message (e.g. which typed command it is). Kept with the Incoming
        object, so a replaced ``incoming`` (a typed label read as a button) is worked out anew."""
        known = self.memo.get(key)
        if known is not None and known[0] is self.incoming:
            return known[1]  # type: ignore[no-any-return]
        value = work()
        self.memo[key] = (self.incoming, value)
        return value

    async def say(self, *replies: Reply) -> list[Delivery]:
        messages = [
            Outgoing(self.person.vk_id, reply, "reply", f"reply:{self.incoming.event_id}:{len(self.sent) + n}")
            for n, reply in enumerate(replies)
        ]
        deliveries = await self.deps.messenger.send(messages)
        self.sent.extend(deliveries)
        return deliveries
