"""Shared bits of the benchmarks: percentiles, a bot process against the emulator."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def config_text(api_url: str, db_path: Path, sender: dict[str, Any] | None = None) -> str:
    lines = [
        "[vk]", 'token = "bench-token"', "group_id = 1", f'api_url = "{api_url}"',
        "long_poll_wait = 5", "[storage]", f'path = "{db_path}"',
        "[region]", 'name = "Область для замеров"',
        'municipalities = [{ name = "г. Новосибирск" }]',
        "[log]", 'level = "WARNING"',
    ]
    if sender:
        lines.append("[sender]")
        lines += [f"{k} = {v}" for k, v in sender.items()]
    return "\n".join(lines) + "\n"


class BotProcess:
    """`python -m bot run` in a scratch directory, so the bot has its own core."""

    def __init__(self, api_url: str, sender: dict[str, Any] | None = None) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="sferum-bench-")
        self.path = Path(self.dir.name)
        self.db_path = self.path / "bot.sqlite3"
        (self.path / "config.toml").write_text(config_text(api_url, self.db_path, sender))
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, emu: Any) -> None:
        before = len(emu.calls_of("groups.getLongPollServer"))
        # BENCH_PROFILE=file.prof runs the bot under cProfile (read it with pstats).
        profile = os.environ.get("BENCH_PROFILE")
        prefix = ["-m", "cProfile", "-o", profile] if profile else []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *prefix, "-m", "bot", "run", "--config", str(self.path / "config.toml"),
            cwd=self.path, env={**os.environ, "PYTHONPATH": str(ROOT)})
        await emu.wait_until(lambda: len(emu.calls_of("groups.getLongPollServer")) > before, 30)
        await emu.wait_for_long_poll(30)

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        self.dir.cleanup()
