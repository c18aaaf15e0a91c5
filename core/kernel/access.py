"""Who may do what: bot admins and coordinators come from config, plus grants stored in the bot.

A person's territory is a ``Scope``: the whole region, one municipality, or nobody's data.
"No rights" is its own value (``NOBODY``), never an absent filter, so a service that forgets to
check rights cannot fall back to "the whole region": asking ``NOBODY`` for its repository
filter raises ``NotAllowed``, which the bot answers with a polite refusal.

Access is computed anew for every incoming event (bot/app.py), so a grant revoked or narrowed
in the middle of a dialog takes effect on the very next screen.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from storage import Tx


class Rights(Protocol):
    """Who the operator made bot admins and regional coordinators, as internal person ids.

    The config names them per messenger ([access] VK ids, [max] MAX ids); the bot resolves
    each list through the person's own messenger account (bot/rights.py), so a MAX id can
    never give rights to the VK person who happens to have the same number, nor the reverse."""

    admins: Container[int]
    coordinators: Container[int]


class NotAllowed(Exception):
    """A service was asked for data or an action outside the person's rights."""


@dataclass(frozen=True)
class Scope:
    kind: Literal["region", "municipality", "nobody"]
    municipality_id: int | None = None

    @classmethod
    def of_grant(cls, municipality_id: int | None) -> "Scope":
        return REGION if municipality_id is None else cls("municipality", municipality_id)

    @property
    def nobody(self) -> bool:
        return self.kind == "nobody"

    @property
    def region(self) -> bool:
        return self.kind == "region"

    def sees(self, municipality_id: int | None) -> bool:
        """May this scope see data of that municipality (None: data tied to no municipality,
        which only the whole region sees)."""
        if self.kind == "region":
            return True
        return self.kind == "municipality" and municipality_id == self.municipality_id

    def covers(self, other: "Scope") -> bool:
        """Everything ``other`` sees, this scope sees too."""
        if other.nobody:
            return not self.nobody
        if other.region:
            return self.region
        return self.sees(other.municipality_id)

    @property
    def filter(self) -> int | None:
        """The repository filter: None = every municipality, else the one municipality."""
        if self.kind == "nobody":
            raise NotAllowed("no territory")
        return self.municipality_id


REGION = Scope("region")
NOBODY = Scope("nobody")


@dataclass(frozen=True)
class Access:
    vk_id: int
    bot_admin: bool = False
    scope: Scope = NOBODY

    @property
    def coordinator(self) -> bool:
        return not self.scope.nobody

    @property
    def regional(self) -> bool:
        return self.scope.region

    @property
    def municipality_id(self) -> int | None:
        """The repository filter of a coordinator's territory; NotAllowed for anyone else."""
        return self.scope.filter


def territory(access: Access) -> Scope:
    """The coordinator's scope; NotAllowed for a person who is not (or no longer) one."""
    if access.scope.nobody:
        raise NotAllowed("not a coordinator")
    return access.scope


async def access_of(tx: Tx, rights: Rights, vk_id: int) -> Access:
    admin = vk_id in rights.admins
    if admin or vk_id in rights.coordinators:
        return Access(vk_id, bot_admin=admin, scope=REGION)
    grant = await tx.territory.get_grant(vk_id)
    if grant is not None:
        return Access(vk_id, scope=Scope.of_grant(grant.municipality_id))
    return Access(vk_id)


# -- services that read or change other people's data -------------------------------------------
F = TypeVar("F", bound=Callable[..., Any])
RIGHTS = "__rights__"  # the mark: "coordinator" or "bot_admin"


def _guarded(right: Literal["coordinator", "bot_admin"],
             check: Callable[[Access], object]) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        def conversation(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            conv = args[0] if args else kwargs["conv"]
            check(conv.access)

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def guarded(*args: Any, **kwargs: Any) -> Any:
                conversation(args, kwargs)
                return await fn(*args, **kwargs)
        else:
            @functools.wraps(fn)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                conversation(args, kwargs)
                return fn(*args, **kwargs)
        setattr(guarded, RIGHTS, right)
        return guarded  # type: ignore[return-value]
    return mark


def _bot_admin(access: Access) -> None:
    if not access.bot_admin:
        raise NotAllowed("not a bot admin")


# A service of coordinators (``fn(conv, ...)``): refuses anyone who is not one *now*, before it
# reads anything, whatever route called it. Its territory filter stays the service's own job
# (``territory(conv.access).filter``). The mark also lets tests/test_routes.py check that every
# route reaching such a service declares a coordinator's ``need``.
for_coordinators = _guarded("coordinator", territory)
# The same for bot admins (grants, drafts of the help, «Состояние бота»).
for_bot_admins = _guarded("bot_admin", _bot_admin)


def rights_of(fn: Callable[..., Any]) -> str | None:
    """"coordinator"/"bot_admin" for a marked service, None otherwise."""
    return getattr(fn, RIGHTS, None)
