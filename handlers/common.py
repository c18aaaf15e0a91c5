"""What every messenger adapter does with an incoming message before the routes see it.

handlers/vk.py and handlers/max.py each turn their messenger's update into an ``Incoming``
(with the person's id in that messenger); from there it is one path: find or make the person
(their account and row), mark them reachable, compute their rights, deliver what waited for
them, and read a typed button label as that button's press.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from core.kernel.access import access_of
from core.kernel.clock import unix
from core.kernel.conversation import Conversation, Incoming
from core.kernel.screens import typed_button
from core.kernel.texts import speaking_in

if TYPE_CHECKING:
    from bot.deps import Deps


async def conversation_for(deps: "Deps", messenger: str, external_id: int, incoming: Incoming,
                           ref_source: str | None = None) -> Conversation:
    """The Conversation for ``incoming`` from ``external_id`` in ``messenger``; its
    ``peer_id`` is replaced by the internal person id."""
    speaking_in(messenger)  # texts about the messenger itself are this messenger's
    async with deps.db.transaction() as tx:
        now = unix(deps.clock)
        person_id = await tx.accounts.upsert_person(messenger, external_id, now)  # type: ignore[arg-type]
        rights: Any = deps.settings.access
        learn = getattr(rights, "learn", None)
        if learn is not None:
            learn(messenger, external_id, person_id)
        person = await tx.users.upsert_seen(person_id, now, incoming.ref, ref_source)
        access = await access_of(tx, rights, person_id)
        # Writing to the bot allows its messages: notices that waited go now.
        held = await tx.held.list_notices(person_id)
    if held:
        await deps.messenger.deliver_held(held)  # type: ignore[attr-defined]
    incoming = replace(incoming, peer_id=person_id, messenger=messenger)
    conv = Conversation(deps, person, access, incoming)
    # A button's label typed as text is that button's press, on every screen.
    pressed = await typed_button(conv)
    if pressed is not None:
        conv.incoming = replace(incoming, payload=pressed)
    return conv
