"""``sferum-bot`` (also ``python -m bot``): run the bot, or try it in a terminal sandbox."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from pathlib import Path
from typing import Any

from bot.config import ConfigError, load_settings
from bot.operator_text import line
from bot.vk.connect import FatalVkError
from core.faq.index import FaqError
from core.kernel.texts import TextsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sferum-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot against VK (or any api_url in the config)")
    run.add_argument("--config", type=Path, default=Path("config.toml"))
    sandbox = sub.add_parser("sandbox", help="chat with the bot in this terminal, no VK token needed")
    sandbox.add_argument("--db", type=Path, default=None,
                         help="keep the sandbox database here (default: a temporary one)")
    sandbox.add_argument("--config", type=Path, default=None,
                         help="settings to start from (vk and storage are replaced)")
    sandbox.add_argument("--user", type=int, default=None, help="VK (or MAX) id to start as")
    sandbox.add_argument("--messenger", choices=("vk", "max"), default="vk",
                         help="write as a VK user (default) or as a MAX user")
    sandbox.add_argument("--files", type=Path, default=None,
                         help="save charts and spreadsheets the bot sends here"
                              " (default: ./sandbox-files)")
    check = sub.add_parser("check", help="validate the config and the content files, then exit")
    check.add_argument("--config", type=Path, default=Path("config.toml"))
    check.add_argument("--online", action="store_true",
                       help="also ask VK: community settings, Long Poll, and whether coordinators"
                            " and admins can receive the community's messages")
    backup = sub.add_parser("backup", help="copy the database safely while the bot runs")
    backup.add_argument("target", type=Path, help="where to write the copy")
    backup.add_argument("--config", type=Path, default=Path("config.toml"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "run":
        gc.enable()  # see bot/launch.py: `run` turns it on itself, once the bot is built
    try:
        if args.command == "run":
            from bot.app import configure_logging, run_bot

            settings = load_settings(args.config)
            configure_logging(settings.log.level)
            asyncio.run(run_bot(settings))
        elif args.command == "sandbox" and args.messenger == "max":
            from bot.max_sandbox import run_max_sandbox

            return asyncio.run(run_max_sandbox(args.db, args.config, args.user,
                                               files=args.files))
        elif args.command == "sandbox":
            from bot.sandbox import run_sandbox

            return asyncio.run(run_sandbox(args.db, args.config, args.user, files=args.files))
        elif args.command == "backup":
            from storage.backup import BackupError, backup

            settings = load_settings(args.config)
            try:
                size = backup(Path(settings.storage.path), args.target)
            except BackupError as exc:
                print(f"sferum-bot: {line('backup.' + exc.key, **exc.values)}", file=sys.stderr)
                return 1
            print(line("backup.written", path=args.target, megabytes=size / 1e6))
        elif args.command == "check":
            return asyncio.run(_check(args.config, args.online))
    except (ConfigError, TextsError, FaqError) as exc:
        print(f"sferum-bot: {exc}", file=sys.stderr)
        return 2
    except FatalVkError as exc:
        print(f"sferum-bot: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    return 0


async def _check(config: Path, online: bool) -> int:
    """Valid or not (exit 2 with the reason); then what is not ready yet, as warnings."""
    from bot.app import build_bot
    from bot.checks import max_online, max_summary, offline_warnings, online_findings
    from bot.vk.api import VkApi

    settings = load_settings(config)
    build_bot(settings)
    problems = offline_warnings(settings)
    for text in problems:
        print(line("check.warning", text=text))
    for text in max_summary(settings):
        print(line("check.ok", text=text))
    if online:
        findings: list[Any] = []
        if settings.vk is not None:
            api = VkApi(settings.vk.api_url, settings.vk.token, settings.vk.api_version)
            try:
                findings.extend(await online_findings(settings, api))
            finally:
                await api.close()
        if settings.max.enabled:
            findings.append(await max_online(settings))
        for finding in findings:
            print(line("check.ok" if finding.ok else "check.problem", text=finding.text))
            if not finding.ok:
                problems.append(finding.text)
    if problems:
        print(line("check.not_ready", count=len(problems)))
        return 1 if online else 0
    print(line("check.valid"))
    return 0
