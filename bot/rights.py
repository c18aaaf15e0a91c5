"""Bot admins and coordinators of both messengers, as internal person ids.

The config lists them per messenger: ``[access]`` holds VK ids (a VK person's internal id is
their VK id), ``[max]`` holds MAX user ids. A MAX person's internal id is made when they first
start the bot (storage/accounts.py), so the MAX lists are resolved then, and at every start for
those seen before. Core features read these sets as ``settings.access`` (``access_of``,
«who gets a new application»): each id in them is right for its own messenger only.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage import Database


class PeopleRights:
    def __init__(self, vk_admins: Iterable[int], vk_coordinators: Iterable[int],
                 max_admins: Iterable[int] = (), max_coordinators: Iterable[int] = ()) -> None:
        self.admins: set[int] = set(vk_admins)
        self.coordinators: set[int] = set(vk_coordinators)
        self._max_admins = frozenset(max_admins)
        self._max_coordinators = frozenset(max_coordinators)

    @property
    def max_ids(self) -> frozenset[int]:
        return self._max_admins | self._max_coordinators

    def learn(self, messenger: str, external_id: int, person_id: int) -> None:
        """A person's account is known: their rights, if the MAX lists name them."""
        if messenger != "max":
            return
        if external_id in self._max_admins:
            self.admins.add(person_id)
        if external_id in self._max_coordinators:
            self.coordinators.add(person_id)

    async def load(self, db: Database) -> None:
        async with db.read() as tx:
            for external in sorted(self.max_ids):
                person = await tx.accounts.get_person("max", external)
                if person is not None:
                    self.learn("max", external, int(person))
