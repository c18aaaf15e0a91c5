"""An online copy of the database: SQLite's backup API, safe while the bot is running.

Copying the file with ``cp`` while the bot writes can give a torn copy (and misses what is still
in the ``-wal`` file); the backup API copies a consistent snapshot through SQLite itself. The copy
is written beside the target and renamed into place only after an integrity check, so a failed
backup never replaces a good one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class BackupError(Exception):
    """``key`` names the line in content/operator.toml (``backup.<key>``) the CLI prints."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def backup(source: Path, target: Path) -> int:
    """Copy ``source`` to ``target``; the size of the copy in bytes."""
    if not source.exists():
        raise BackupError("no_database", path=source)
    if target.resolve() == source.resolve():
        raise BackupError("same_file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # one step: a consistent snapshot even while the bot writes
            (verdict,) = dst.execute("PRAGMA integrity_check").fetchone()
            # The copy is a single file: no -wal beside it to lose.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError("damaged", verdict=verdict)
    partial.replace(target)
    return target.stat().st_size
