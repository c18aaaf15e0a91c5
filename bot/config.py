"""Settings: a TOML file validated by pydantic, with secrets overridable from the environment.

Any scalar setting can be overridden by ``SFERUM_<SECTION>_<KEY>`` (e.g. ``SFERUM_VK_TOKEN``), so a
token never has to be written into a file. A wrong or missing setting raises ``ConfigError`` with
one line naming it; the CLI prints that line instead of a traceback.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "SFERUM_"


class ConfigError(Exception):
    """A setting is wrong or missing; the message is one line naming it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class VkSettings(_Section):
    token: str = Field(min_length=1)
    group_id: int = Field(gt=0)
    api_url: str = "https://api.vk.ru/method/"
    api_version: str = "5.199"
    long_poll_wait: int = Field(default=25, ge=1, le=90)
    # Resume from the last long-poll ts after a restart, so messages written while the bot was down
    # are answered; replays are harmless because events are de-duplicated by event_id.
    skip_old_events: bool = False
    # "longpoll" (default) or "callback": VK posts events to [callback] behind a web server.
    transport: Literal["longpoll", "callback"] = "longpoll"

    @field_validator("api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"


# Without a secret anyone who learns the address can post events as any VK user (a coordinator or
# bot admin included) and the bot would obey: callback mode never starts without one.
CALLBACK_SECRET_MISSING = (
    'callback.secret is required when vk.transport = "callback": set [callback] secret in the '
    "config (or the SFERUM_CALLBACK_SECRET environment variable) to the secret key from the "
    "community's Callback API settings")


class CallbackSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    path: str = "/vk/callback"
    # The string VK asks the server to return when the address is confirmed.
    confirmation: str = ""
    # VK puts it into every event; events without it are refused.
    secret: str = ""


class SenderSettings(_Section):
    requests_per_second: float = Field(default=20.0, gt=0, le=20)
    gather_window_ms: int = Field(default=25, ge=0, le=500)
    max_attempts: int = Field(default=6, ge=1, le=20)
    execute_batch: int = Field(default=25, ge=1, le=25)
    peer_ids_batch: int = Field(default=100, ge=1, le=100)


class StorageSettings(_Section):
    path: Path = Path("data/bot.sqlite3")
    # Delivered bulk messages, event de-duplication and weekly-run bookkeeping older than this
    # are deleted (job counters stay, so reports keep their numbers). At least 8 days: a weekly
    # run must be remembered for the whole of its week.
    retention_days: int = Field(default=30, ge=8)


class AccessSettings(_Section):
    admins: list[int] = []
    coordinators: list[int] = []


class Municipality(_Section):
    name: str = Field(min_length=1)
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)


class RegionSettings(_Section):
    name: str = Field(min_length=1)
    timezone: str = "Europe/Moscow"
    municipalities: list[Municipality] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_timezone(value)


class ScheduleSettings(_Section):
    reminder_weekday: int = Field(default=1, ge=1, le=7)  # ISO weekday, 1 = Monday
    reminder_hour: int = Field(default=10, ge=0, le=23)
    survey_weekday: int = Field(default=5, ge=1, le=7)
    survey_hour: int = Field(default=12, ge=0, le=23)
    quiet_start: int = Field(default=21, ge=0, le=23)
    quiet_end: int = Field(default=8, ge=0, le=23)
    stuck_after_days: int = Field(default=7, ge=1)
    survey_parents: bool = False
    holidays: list[tuple[date, date]] = []
    # Staff who joined an organisation this many days ago and still have not confirmed their
    # registration get a reminder (and their organisation's admin hears about them).
    unconfirmed_after_days: int = Field(default=2, ge=0)
    # The scheduler wakes up every tick_minutes and sends whatever has become due; enabled=false
    # switches the automatic ticks off (tests and the sandbox may then call tick() themselves).
    enabled: bool = True
    tick_minutes: int = Field(default=5, ge=1, le=60)


class ContentSettings(_Section):
    # A folder with texts/ and faq/ that replaces the packaged content (for methodists' edits).
    dir: Path | None = None
    # Where the FAQ keeps what coordinators taught it («Добавить в справку»): phrasings, drafts
    # and published entries. Data, like the database; by default «faq_learned» next to it.
    learned_dir: Path | None = None


class PrivacySettings(_Section):
    # Survey figures about fewer people than this are not shown (a summary of a place, a week in
    # a chart or spreadsheet, the «previous weeks» comparison): they would tell one person's
    # answers. Free-text answers go only to regional coordinators, and only above it too.
    min_group: int = Field(default=5, ge=2)


class LimitsSettings(_Section):
    # Invitation codes: this many wrong codes within code_window_minutes and the person waits
    # code_block_minutes before the next try (kept in SQLite: a restart does not reset it).
    code_attempts: int = Field(default=5, ge=1)
    code_window_minutes: int = Field(default=15, ge=1)
    code_block_minutes: int = Field(default=30, ge=1)
    # An organisation's admin gets at most one message per this many minutes about staff who
    # confirmed their registration (one digest, not one notice per person).
    staff_digest_minutes: int = Field(default=60, ge=1)


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Section):
    vk: VkSettings
    storage: StorageSettings = StorageSettings()
    access: AccessSettings = AccessSettings()
    region: RegionSettings
    callback: CallbackSettings = CallbackSettings()
    sender: SenderSettings = SenderSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    content: ContentSettings = ContentSettings()
    privacy: PrivacySettings = PrivacySettings()
    limits: LimitsSettings = LimitsSettings()
    log: LogSettings = LogSettings()

    @model_validator(mode="after")
    def _callback_complete(self) -> "Settings":
        if self.vk.transport == "callback" and not self.callback.confirmation:
            raise ValueError("callback.confirmation is required when vk.transport = \"callback\"")
        if self.vk.transport == "callback" and not self.callback.secret.strip():
            raise ValueError(CALLBACK_SECRET_MISSING)
        return self


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """Overlay SFERUM_<SECTION>_<KEY> variables onto the raw TOML dict (scalars only)."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for section, model in Settings.model_fields.items():
        sub = model.annotation
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            continue
        for key in sub.model_fields:
            name = f"{ENV_PREFIX}{section}_{key}".upper()
            if name in environ:
                merged.setdefault(section, {})[key] = environ[name]
    return merged


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(root)"
    message = first["msg"]
    if first["type"] == "missing":
        message = "is required but missing"
    elif first["type"] == "extra_forbidden":
        message = "is not a known setting"
    elif first["type"] == "value_error" and where == "(root)":
        return f"{source}: {first['ctx']['error']}"  # a rule across settings names them itself
    return f"{source}: setting {where}: {message}"


def settings_from_dict(raw: dict[str, Any], source: str = "config",
                       environ: dict[str, str] | None = None) -> Settings:
    data = _apply_env(raw, dict(os.environ) if environ is None else environ)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_settings(path: Path, environ: dict[str, str] | None = None) -> Settings:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (copy config.example.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return settings_from_dict(raw, str(path), environ)
