"""Settings: a TOML file validated by pydantic, with secrets overridable from the environment.

Any scalar setting can be overridden by ``SFERUM_<SECTION>_<KEY>`` (e.g. ``SFERUM_VK_TOKEN``), so a
token never has to be written into a file. A wrong or missing setting raises ``ConfigError`` with
one line naming it; the CLI prints that line instead of a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.operator_text import catalog, line, pair

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "SFERUM_"


class ConfigError(Exception):
    """A setting is wrong or missing; the message is one line naming it, in English and Russian
    (the operators are Russian-speaking; the English half is what one searches the web for)."""


class SettingProblem(ValueError):
    """A rule of ours broken: ``problem.<key>`` of content/operator.toml, English and Russian."""

    def __init__(self, key: str, **values: Any) -> None:
        english, russian = pair(f"problem.{key}", **values)
        super().__init__(english)
        self.russian = russian




class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingProblem("unknown_timezone", value=value) from exc
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
            raise SettingProblem("url_scheme")
        return value if value.endswith("/") else value + "/"


class MaxSettings(_Section):
    """The MAX messenger (bot/max). Off unless ``enabled``; the token comes from SFERUM_MAX_TOKEN
    rather than the file. ``admins``/``coordinators`` are MAX user ids (the ones in [access]
    are VK ids): rights are per messenger."""

    enabled: bool = False
    token: str = ""
    api_url: str = "https://platform-api2.max.ru"
    # "polling" (GET /updates, the marker kept in the database) or "webhook" (MAX POSTs each
    # update to webhook_url with webhook_secret in X-Max-Bot-Api-Secret; polling then gets none).
    transport: Literal["polling", "webhook"] = "polling"
    poll_timeout: int = Field(default=30, ge=1, le=90)
    webhook_url: str = ""      # the public https address (port 443) MAX is subscribed to
    webhook_secret: str = ""   # 5–256 characters of A-Z a-z 0-9 _ -
    webhook_path: str = "/max/webhook"
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8082, ge=1, le=65535)
    # Requests per second to MAX: 30 is the documented ceiling (one request per message).
    requests_per_second: int = Field(default=30, ge=1, le=30)
    admins: list[int] = []
    coordinators: list[int] = []

    @field_validator("api_url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise SettingProblem("url_scheme")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _complete(self) -> "MaxSettings":
        if not self.enabled:
            return self
        if not self.token.strip():
            raise SettingProblem("max_token")
        if self.transport == "webhook":
            # MAX pushes only to https (port 443); plain http is allowed to this machine only,
            # for the emulator (tests, the sandbox).
            local = self.webhook_url.startswith(("http://127.0.0.1", "http://localhost"))
            if not (self.webhook_url.startswith("https://") or local):
                raise SettingProblem("max_webhook_url")
            if re.fullmatch(r"[A-Za-z0-9_-]{5,256}", self.webhook_secret) is None:
                raise SettingProblem("max_webhook_secret")
        return self


# Without a secret anyone who learns the address can post events as any VK user (a coordinator or
# bot admin included) and the bot would obey: callback mode never starts without one.



class CallbackSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    path: str = "/vk/callback"
    # The string VK asks the server to return when the address is confirmed.
    confirmation: str = ""
    # VK puts it into every event; events without it are refused.
    secret: str = ""


class HealthSettings(_Section):
    # /healthz and /metrics (Prometheus). Off by default; with vk.transport = "callback" they
    # are served on the callback server's host and port instead of these.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)


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

    @field_validator("municipalities")
    @classmethod
    def _unique(cls, value: list[Municipality]) -> list[Municipality]:
        # Municipalities are upserted by name at every start: a repeated one (even spelled with
        # other capitals or spaces) would be one place in the database but two in people's menus.
        seen: dict[str, str] = {}
        for m in value:
            key = " ".join(m.name.split()).casefold()
            name = m.name.strip()
            if key in seen:
                raise SettingProblem("duplicate_municipality", name=name, first=seen[key])
            seen[key] = name
        return value


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
    # Either messenger or both: no [vk] section means the bot is not in VK.
    vk: VkSettings | None = None
    max: MaxSettings = MaxSettings()
    storage: StorageSettings = StorageSettings()
    access: AccessSettings = AccessSettings()
    region: RegionSettings
    callback: CallbackSettings = CallbackSettings()
    health: HealthSettings = HealthSettings()
    sender: SenderSettings = SenderSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    content: ContentSettings = ContentSettings()
    privacy: PrivacySettings = PrivacySettings()
    limits: LimitsSettings = LimitsSettings()
    log: LogSettings = LogSettings()

    @model_validator(mode="after")
    def _callback_complete(self) -> "Settings":
        if self.vk is None and not self.max.enabled:
            raise SettingProblem("no_messenger")
        if self.vk is None:
            return self
        if self.vk.transport == "callback" and not self.callback.confirmation:
            raise SettingProblem("callback_confirmation")
        if self.vk.transport == "callback" and not self.callback.secret.strip():
            raise SettingProblem("callback_secret")
        return self


def _apply_env(raw: dict[str, Any], environ: dict[str, str]
               ) -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    """Overlay SFERUM_<SECTION>_<KEY> variables onto the raw TOML dict (scalars only); also say
    which settings came from which variable, so an error names the variable, not the file."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    used: dict[tuple[str, str], str] = {}
    for section, model in Settings.model_fields.items():
        sub = model.annotation
        if get_origin(sub) in (Union, UnionType):  # an optional section: VkSettings | None
            sub = next((a for a in get_args(sub) if a is not type(None)), None)
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            continue
        for key in sub.model_fields:
            name = f"{ENV_PREFIX}{section}_{key}".upper()
            if name in environ:
                merged.setdefault(section, {})[key] = environ[name]
                used[(section, key)] = name
    return merged, used


def _russian(error: Any) -> str:
    problem = (error.get("ctx") or {}).get("error")
    if isinstance(problem, SettingProblem):
        return problem.russian
    russian = catalog()["pydantic"]
    template = russian.get(error["type"], russian["other"])
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def _describe(error: ValidationError, source: str,
              from_env: dict[tuple[str, str], str] | None = None) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    where = ".".join(loc) or "(root)"
    message = first["msg"]
    if first["type"] == "missing":
        message = "is required but missing"
    elif first["type"] == "extra_forbidden":
        message = "is not a known setting"
    elif first["type"] == "value_error":
        message = str((first.get("ctx") or {}).get("error", message))
    russian = _russian(first)
    if where == "(root)":  # a rule across settings names them itself
        return line("config.rule", source=source, message=message, russian=russian)
    variable = (from_env or {}).get((loc[0], loc[1])) if len(loc) >= 2 else None
    if variable is not None:
        return line("config.environment", variable=variable, where=where, message=message,
                    russian=russian)
    return line("config.setting", source=source, where=where, message=message, russian=russian)


def settings_from_dict(raw: dict[str, Any], source: str = "config",
                       environ: dict[str, str] | None = None) -> Settings:
    data, from_env = _apply_env(raw, dict(os.environ) if environ is None else environ)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source, from_env)) from None


def load_settings(path: Path, environ: dict[str, str] | None = None) -> Settings:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(line("config.not_found", path=path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(line("config.not_toml", path=path, error=exc)) from None
    return settings_from_dict(raw, str(path), environ)
