"""The process's entry point (``sferum-bot`` and ``python -m bot``).

Importing the libraries makes about half a million objects that live as long as the process
(vkbottle's API models above all). Collecting garbage while they are being made only walks them
again and again: 0.3-0.4 s of the start. So collection is off while ``bot.cli`` and, for ``run``,
the bot are built; ``bot.app.settle_memory`` turns it back on, and every other command does so
at once.
"""

from __future__ import annotations

import gc


def main(argv: list[str] | None = None) -> int:
    gc.disable()
    from bot.cli import main as cli_main

    return cli_main(argv)
