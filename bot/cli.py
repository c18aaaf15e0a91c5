"""``sferum-bot`` (also ``python -m bot``): run the bot, or try it in a terminal sandbox."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import ConfigError, load_settings
from core.faq import FaqError
from core.texts import TextsError


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
    sandbox.add_argument("--user", type=int, default=None, help="VK id to start as")
    sandbox.add_argument("--files", type=Path, default=None,
                         help="save charts and spreadsheets the bot sends here"
                              " (default: ./sandbox-files)")
    check = sub.add_parser("check", help="validate the config and the content files, then exit")
    check.add_argument("--config", type=Path, default=Path("config.toml"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            from bot.app import configure_logging, run_bot

            settings = load_settings(args.config)
            configure_logging(settings.log.level)
            asyncio.run(run_bot(settings))
        elif args.command == "sandbox":
            from bot.sandbox import run_sandbox

            return asyncio.run(run_sandbox(args.db, args.config, args.user, files=args.files))
        elif args.command == "check":
            from bot.app import build_bot

            build_bot(load_settings(args.config))
            print("config and content are valid")
    except (ConfigError, TextsError, FaqError) as exc:
        print(f"sferum-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
