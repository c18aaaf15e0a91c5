"""MAX's side of ``core.kernel.platform.Platform``, and the platform that routes by messenger.

MAX has no user lookup (MAX_PROTOCOL.md §7): names come from the updates the person sent
(handlers/max.py keeps them), and MAX states no sex (0). Files go through MAX's upload flow
(bot/max/api.py: POST /uploads → multipart ``data`` → token); the attachment string
``max:image:<token>`` / ``max:file:<token>`` is turned into MAX's attachment by bot/max/sender.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.download import download
from bot.max.api import MaxApi
from bot.max.errors import MaxError
from core.kernel.platform import PlatformError, Profile



class MaxPlatform:
    def __init__(self, api: MaxApi, names: Mapping[int, tuple[str, str]]) -> None:
        self.api = api
        self.known = names

    async def names(self, user_ids: list[int]) -> dict[int, tuple[str, str]]:
        return {uid: self.known[uid] for uid in user_ids if uid in self.known}

    async def profiles(self, user_ids: list[int]) -> dict[int, Profile]:
        return {uid: Profile(first, last, 0) for uid, (first, last) in
                (await self.names(user_ids)).items()}

    async def upload_document(self, peer_id: int, filename: str, data: bytes) -> str:
        try:
            return f"max:file:{await self.api.upload('file', data, filename)}"
        except MaxError as exc:
            raise PlatformError(f"MAX file upload failed: {type(exc).__name__}") from exc

    async def upload_photo(self, peer_id: int, filename: str, data: bytes) -> str:
        try:
            return f"max:image:{await self.api.upload('image', data, filename, 'image/png')}"
        except MaxError as exc:
            raise PlatformError(f"MAX image upload failed: {type(exc).__name__}") from exc

    async def fetch(self, url: str) -> bytes:
        """Download an attachment a person sent (the message gives its URL)."""
        return await download(url)


class Platforms:
    """Each call goes to the platform of the person's messenger (negative ids are MAX's)."""

    def __init__(self, vk: Any | None, max_: Any | None) -> None:
        self.vk = vk
        self.max = max_

    def _of(self, person: int) -> Any:
        platform = self.max if person < 0 else self.vk
        if platform is None:
            raise PlatformError("that messenger is not enabled")
        return platform

    async def names(self, user_ids: list[int]) -> dict[int, tuple[str, str]]:
        return {uid: (p.first_name, p.last_name)
                for uid, p in (await self.profiles(user_ids)).items()}

    async def profiles(self, user_ids: list[int]) -> dict[int, Profile]:
        found: dict[int, Profile] = {}
        for platform, ids in ((self.vk, [u for u in user_ids if u > 0]),
                              (self.max, [u for u in user_ids if u < 0])):
            if platform is not None and ids:
                found.update(await platform.profiles(ids))
        return found

    async def upload_document(self, peer_id: int, filename: str, data: bytes) -> str:
        return await self._of(peer_id).upload_document(peer_id, filename, data)

    async def upload_photo(self, peer_id: int, filename: str, data: bytes) -> str:
        return await self._of(peer_id).upload_photo(peer_id, filename, data)

    async def fetch(self, url: str) -> bytes:
        return await (self.vk or self.max).fetch(url)
