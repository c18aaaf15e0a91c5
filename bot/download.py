"""Downloading a file a person attached (both messengers give a URL in the message)."""

from __future__ import annotations

import aiohttp

from core.kernel.platform import PlatformError

DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)
MAX_DOWNLOAD = 50 * 1024 * 1024  # an attachment a coordinator sends for a broadcast


async def download(url: str) -> bytes:
    try:
        async with aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as http:
            async with http.get(url) as resp:
                if resp.status != 200:
                    raise PlatformError(f"download: HTTP {resp.status}")
                data = await resp.content.read(MAX_DOWNLOAD + 1)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise PlatformError(f"download failed: {type(exc).__name__}") from exc
    if len(data) > MAX_DOWNLOAD:
        raise PlatformError("download: file too large")
    return data
