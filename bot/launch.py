"""The process's entry point (``sferum-bot`` and ``python -m bot``).

Importing the libraries makes about half a million objects that live as long as the process
(vkbottle's API models above all). Collecting garbage while they are being made only walks them
again and again: 0.3-0.4 s of the start. So collection is off while ``bot.cli`` and, for ``run``,
the bot are built; ``bot.app.settle_memory`` turns it back on, and every other command does so
at once.

Before any thread starts, glibc's allocator is limited to two arenas (see ``limit_arenas``).
"""

from __future__ import annotations

import ctypes
import gc
import os

M_ARENA_MAX = -8  # glibc's <malloc.h>
ARENAS = 2


def limit_arenas() -> bool:
    """Each thread that allocates while another holds the main arena gets an arena of its own
    (up to 8 per core), and memory freed in one arena is never reused by another. The bot's
    threads are SQLite's (one per connection, aiosqlite) and the resolver's: their page caches
    and result rows scattered over arenas of their own kept about 2 MB more resident at 300 000
    people (bench/scale.py). Two arenas in all, whatever the number of threads. What
    the operator set in MALLOC_ARENA_MAX wins; other C libraries (musl) are left alone."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, ARENAS))
    except (OSError, ValueError, AttributeError):
        return False


def main(argv: list[str] | None = None) -> int:
    limit_arenas()
    gc.disable()
    from bot.cli import main as cli_main

    return cli_main(argv)
