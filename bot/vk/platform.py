"""VK's side of ``core.platform.Platform``: names and sex through ``users.get`` (fields=sex)
and documents through the upload flow (docs.getMessagesUploadServer -> multipart POST of ``file`` -> docs.save ->
attachment ``doc{owner_id}_{id}``). API methods go through the delivery engine's ``call`` (same
rate limit and retries as messages); the upload POST goes straight to the upload server."""

from __future__ import annotations

from typing import Any, Protocol

import aiohttp

from bot.download import download
from bot.vk.api import VkApiError, VkTransportError
from core.kernel.platform import PlatformError, Profile

USERS_GET_BATCH = 1000
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)


class Caller(Protocol):
    async def call(self, method: str, params: dict[str, Any]) -> Any: ...


class VkPlatform:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    async def names(self, user_ids: list[int]) -> dict[int, tuple[str, str]]:
        return {uid: (p.first_name, p.last_name) for uid, p in (await self.profiles(user_ids)).items()}

    async def profiles(self, user_ids: list[int]) -> dict[int, Profile]:
        found: dict[int, Profile] = {}
        ids = sorted(set(user_ids))
        for start in range(0, len(ids), USERS_GET_BATCH):
            batch = ids[start:start + USERS_GET_BATCH]
            try:
                people = await self.caller.call("users.get", {"user_ids": batch, "fields": "sex"})
            except (VkApiError, VkTransportError) as exc:
                raise PlatformError(f"users.get failed: {exc}") from exc
            for person in people or []:
                sex = person.get("sex")
                found[int(person["id"])] = Profile(
                    str(person.get("first_name", "")), str(person.get("last_name", "")),
                    sex if sex in (0, 1, 2) else 0)
        return found

    async def _upload(self, url: str, field: str, filename: str, data: bytes,
                      content_type: str) -> dict[str, Any]:
        """The multipart POST to an upload server; its JSON answer must hold ``field``."""
        form = aiohttp.FormData()
        form.add_field(field, data, filename=filename, content_type=content_type)
        async with aiohttp.ClientSession(timeout=UPLOAD_TIMEOUT) as http:
            async with http.post(url, data=form) as resp:
                uploaded = await resp.json(content_type=None)
        if not isinstance(uploaded, dict) or not uploaded.get(field):
            raise PlatformError(f"upload server answered {str(uploaded)[:200]}")
        return uploaded

    async def upload_document(self, peer_id: int, filename: str, data: bytes) -> str:
        try:
            server = await self.caller.call("docs.getMessagesUploadServer",
                                            {"type": "doc", "peer_id": peer_id})
            uploaded = await self._upload(server["upload_url"], "file", filename, data,
                                          "application/octet-stream")
            saved = await self.caller.call("docs.save", {"file": uploaded["file"], "title": filename})
            doc = saved["doc"]
            return f"doc{doc['owner_id']}_{doc['id']}"
        except (VkApiError, VkTransportError, aiohttp.ClientError, TimeoutError, KeyError,
                TypeError, ValueError) as exc:
            raise PlatformError(f"document upload failed: {type(exc).__name__}: {exc}") from exc

    async def upload_photo(self, peer_id: int, filename: str, data: bytes) -> str:
        """photos.getMessagesUploadServer -> multipart POST of ``photo`` ->
        photos.saveMessagesPhoto -> attachment ``photo{owner_id}_{id}_{access_key}``."""
        try:
            server = await self.caller.call("photos.getMessagesUploadServer", {"peer_id": peer_id})
            uploaded = await self._upload(server["upload_url"], "photo", filename, data,
                                          "image/png")
            saved = await self.caller.call("photos.saveMessagesPhoto", {
                "photo": uploaded["photo"], "server": uploaded.get("server"),
                "hash": uploaded.get("hash")})
            photo = saved[0]
            key = f"_{photo['access_key']}" if photo.get("access_key") else ""
            return f"photo{photo['owner_id']}_{photo['id']}{key}"
        except (VkApiError, VkTransportError, aiohttp.ClientError, TimeoutError, KeyError,
                IndexError, TypeError, ValueError) as exc:
            raise PlatformError(f"photo upload failed: {type(exc).__name__}: {exc}") from exc

    async def fetch(self, url: str) -> bytes:
        """Download an attachment a person sent (the message gives its URL)."""
        return await download(url)
