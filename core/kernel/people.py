"""People as others read about them: name, sex (for the right word forms), role, organisation.

A notice to a coordinator or an administrator names the person («Ольга Петрова, педагог,
МБОУ СОШ № 7»), not a bare vk.com/id link, and a text about them agrees with their sex
(«сообщила» / «сообщил»; neutral wording when VK does not say). Names and sex the bot does not
have yet are asked from the platform (users.get with fields=sex) once and kept with the person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.kernel.platform import PlatformError, platform_of
from core.kernel.untrusted import relayed

if TYPE_CHECKING:
    from core.kernel.deps import Deps

log = logging.getLogger(__name__)


def profile_link(texts: Any, person_id: int) -> str:
    """Where to find a person: their VK page; a MAX person (negative internal id) has no page
    by id (MAX has no user lookup, MAX_PROTOCOL.md §7), so the words say they are in MAX."""
    return f"vk.com/id{person_id}" if person_id > 0 else texts.render("people.in_max")


@dataclass(frozen=True)
class Who:
    vk_id: int
    first_name: str = ""
    last_name: str = ""
    sex: int = 0           # 1 female, 2 male, 0 not known
    role: str | None = None
    org: str = ""
    municipality: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def values(self, texts: Any) -> dict[str, Any]:
        """What templates get about a person: name, sex, role (in words), org, link. The name
        and the organisation's name were typed by people: relayed, never markup."""
        return {"name": relayed(self.name, 120), "sex": self.sex, "vk_id": self.vk_id,
                "role": texts.render(f"people.role.{self.role}") if self.role else "",
                "org": relayed(self.org, 200), "municipality": self.municipality,
                "link": profile_link(texts, self.vk_id)}


async def people(deps: "Deps", vk_ids: list[int] | set[int]) -> dict[int, Who]:
    """Everyone asked for, with what the bot knows; missing names and sex are fetched."""
    ids = sorted(set(vk_ids))
    if not ids:
        return {}
    async with deps.db.read() as tx:
        known = {p.vk_id: p for p in await tx.users.list_users(ids)}
        orgs: dict[int, Any] = {}
        for person in known.values():
            if person.org_id is not None and person.org_id not in orgs:
                orgs[person.org_id] = await tx.territory.get_organisation(person.org_id)
        municipalities = {m.id: m.name for m in await tx.territory.list_municipalities()}
    missing = [i for i in ids if i not in known or not known[i].first_name
               or known[i].sex is None]
    fetched: dict[int, Any] = {}
    platform = platform_of(deps)
    if missing and platform is not None:
        try:
            fetched = await platform.profiles(missing)
        except PlatformError as exc:
            log.warning("could not look up %d profiles: %s", len(missing), exc)
        stored = [i for i in fetched if i in known]
        if stored:
            async with deps.db.transaction() as tx:
                for vk_id in stored:
                    p = fetched[vk_id]
                    await tx.users.update_name(vk_id, p.first_name, p.last_name, p.sex)
    out: dict[int, Who] = {}
    for vk_id in ids:
        person = known.get(vk_id)
        profile = fetched.get(vk_id)
        org = orgs.get(person.org_id) if person and person.org_id is not None else None
        out[vk_id] = Who(
            vk_id,
            first_name=(person.first_name if person and person.first_name
                        else profile.first_name if profile else ""),
            last_name=(person.last_name if person and person.first_name
                       else profile.last_name if profile else ""),
            sex=(profile.sex if profile else person.sex if person and person.sex else 0),
            role=person.role if person else None,
            org=org.name if org else "",
            municipality=municipalities.get(org.municipality_id, "") if org else "")
    return out


async def who(deps: "Deps", vk_id: int) -> Who:
    return (await people(deps, [vk_id]))[vk_id]
