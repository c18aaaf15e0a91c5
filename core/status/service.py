"""«состояние»: what a bot admin needs to see that the bot is well — version, uptime, queues,
messages sent today, the last errors (codes and times only: nothing about people)."""

from __future__ import annotations

from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

from core.kernel.access import for_bot_admins
from core.kernel.conversation import Conversation
from core.status.payloads import StatusOpen
from core.kernel.ui import Button, Reply

KINDS = ("reply", "notice", "reminder", "survey", "broadcast")


def menu_entries(conv: Conversation) -> list[list[Button]]:
    """The bot admin's button in the main menu."""
    if not conv.access.bot_admin:
        return []
    return [[Button(conv.deps.texts.label("btn.status"), StatusOpen().dump())]]


def version() -> str:
    try:
        return metadata.version("sferum-bot")
    except metadata.PackageNotFoundError:  # run from a checkout without installing
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, ValueError):
            return "?"


@for_bot_admins
async def status(conv: Conversation) -> list[Reply]:
    deps = conv.deps
    texts = deps.texts
    if not conv.access.bot_admin:
        return [Reply(texts.render("admin.refused"), template="admin.refused")]
    metrics = deps.services["metrics"]
    async with deps.db.read() as tx:
        pending = await tx.outbox.count_pending_by_kind()
        held = await tx.held.count_notices()
    zone = ZoneInfo(deps.settings.region.timezone)
    seconds = int(metrics.uptime)
    queues = [{"kind": texts.render(f"status.kind_{k}"), "count": pending.get(k, 0)}
              for k in KINDS if pending.get(k, 0)]
    errors = [{"when": datetime.fromtimestamp(e.at, timezone.utc).astimezone(zone)
               .strftime("%d.%m %H:%M"), "code": e.code,
               "kind": texts.render(f"status.kind_{e.kind}") if e.kind in KINDS else e.kind}
              for e in reversed(metrics.recent_errors)]
    text = texts.render("status.text", version=version(), days=seconds // 86400,
                        hours=seconds % 86400 // 3600, minutes=seconds % 3600 // 60,
                        queues=queues, held=held, sent_today=metrics.sent_today(),
                        errors=errors)
    return [Reply(text, template="status.text")]
