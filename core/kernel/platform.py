"""What the core asks of the messenger platform besides sending: people's public names and
documents to attach. VK implements it in ``bot/vk/platform.py``; a MAX transport would add its own.
It is built once at start and kept in ``deps.services["platform"]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from core.kernel.deps import Deps


class PlatformError(Exception):
    """The platform did not do what was asked (network, API error, unexpected answer)."""


@dataclass(frozen=True)
class IncomingFile:
    """An attachment a person sent (photo or document): where to fetch it, its file name."""

    kind: Literal["photo", "doc"]
    url: str
    name: str


@dataclass(frozen=True)
class Profile:
    """A person's public profile: names and sex (1 female, 2 male, 0 not stated)."""

    first_name: str
    last_name: str
    sex: int = 0


class Platform(Protocol):
    async def names(self, user_ids: list[int]) -> dict[int, tuple[str, str]]:
        """(first name, last name) of each user id the platform knows."""

    async def profiles(self, user_ids: list[int]) -> dict[int, Profile]:
        """Names and sex of each user id the platform knows."""

    async def upload_document(self, peer_id: int, filename: str, data: bytes) -> str:
        """Upload a file for a message to peer_id; returns the attachment string."""

    async def upload_photo(self, peer_id: int, filename: str, data: bytes) -> str:
        """Upload an image for a message to peer_id; returns the attachment string."""

    async def fetch(self, url: str) -> bytes:
        """Download a file a person attached (IncomingFile.url)."""


def platform_of(deps: "Deps") -> Platform | None:
    return deps.services.get("platform")
