"""Accounts: which messenger a person is in, and their id there.

The internal person id is ``users.vk_id``: a VK person's is their VK id, a MAX person's comes
from a negative sequence (-1, -2, …), so the sign alone tells the messenger and ids never
collide. ``transport_state`` keeps where a transport stopped reading (MAX's polling marker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from storage.db import Tx

Messenger = Literal["vk", "max"]
# A paging cursor ("people with an id above this") that starts before every person: MAX
# people's ids are negative, so 0 would skip them all.
BEFORE_EVERYONE = -(2**63)


class AccountsRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get_person(self, messenger: Messenger, external_id: int) -> int | None:
        return await self.tx.scalar(
            "SELECT person_id FROM accounts WHERE messenger = ? AND external_id = ?",
            (messenger, external_id))

    async def upsert_person(self, messenger: Messenger, external_id: int, now: int) -> int:
        """The person behind this account, giving a new one its internal id the first time."""
        found = await self.get_person(messenger, external_id)
        if found is not None:
            return int(found)
        if messenger == "vk":
            person = external_id
        else:
            lowest = await self.tx.scalar(
                "SELECT MIN(person_id) FROM accounts WHERE messenger = 'max'")
            person = min(int(lowest or 0), 0) - 1
        await self.tx.execute(
            "INSERT INTO accounts (person_id, messenger, external_id, created_at)"
            " VALUES (?, ?, ?, ?)", (person, messenger, external_id, now))
        return person

    async def get_external(self, person_id: int) -> tuple[Messenger, int] | None:
        row = await self.tx.fetchone(
            "SELECT messenger, external_id FROM accounts WHERE person_id = ?", (person_id,))
        return None if row is None else (row[0], int(row[1]))

    async def list_external(self, person_ids: list[int]) -> dict[int, int]:
        """{person id: id in their messenger} for the people who have an account."""
        found: dict[int, int] = {}
        for start in range(0, len(person_ids), 900):
            chunk = person_ids[start:start + 900]
            rows = await self.tx.fetchall(
                f"SELECT person_id, external_id FROM accounts"
                f" WHERE person_id IN ({','.join('?' * len(chunk))})", chunk)
            found.update((int(r[0]), int(r[1])) for r in rows)
        return found

    async def get_state(self, name: str) -> int | None:
        value = await self.tx.scalar("SELECT value FROM transport_state WHERE name = ?", (name,))
        return None if value is None else int(value)

    async def upsert_state(self, name: str, value: int) -> None:
        await self.tx.execute(
            "INSERT INTO transport_state (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))

    # -- the menu a MAX person has (MAX shows it only with a message) ----------------------------
    async def upsert_menu(self, person_id: int, keyboard: str) -> None:
        await self.tx.execute(
            "INSERT INTO max_menus (person_id, keyboard) VALUES (?, ?)"
            " ON CONFLICT(person_id) DO UPDATE SET keyboard = excluded.keyboard",
            (person_id, keyboard))

    async def delete_menu(self, person_id: int) -> None:
        await self.tx.execute("DELETE FROM max_menus WHERE person_id = ?", (person_id,))

    async def list_menus(self) -> list[tuple[int, str]]:
        rows = await self.tx.fetchall("SELECT person_id, keyboard FROM max_menus")
        return [(int(r[0]), str(r[1])) for r in rows]
