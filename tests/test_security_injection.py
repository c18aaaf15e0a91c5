"""What people type is data: never a template, a formula, markup or a fake line of the bot, never
in the log; no unauthenticated transport; keyboards valid with the largest data.

Each test attacks a class (issue 15, part A), through the real bot and the VK API emulator where
the class lives in the bot's behaviour.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, settings_from_dict
from tests.conftest import ROOT, base_config, bot_pythonpath, toml_dump


# -- class 12: no unauthenticated transport ---------------------------------------------------
def _callback_config(tmp_path: Path, **callback: str) -> Path:
    raw = base_config("http://127.0.0.1:9/method/", tmp_path / "bot.sqlite3",
                      vk={"transport": "callback"},
                      callback={"confirmation": "c0nf1rm", **callback})
    config = tmp_path / "config.toml"
    config.write_text(toml_dump(raw), encoding="utf-8")
    return config


@pytest.mark.parametrize("secret", ["", "   "])
def test_callback_without_secret_is_refused_by_settings(tmp_path: Path, secret: str) -> None:
    config = _callback_config(tmp_path, secret=secret)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert "[callback] secret" in message and "SFERUM_CALLBACK_SECRET" in message
    # the environment variable is the other place to set it
    assert load_settings(config, environ={"SFERUM_CALLBACK_SECRET": "s3"}).callback.secret == "s3"


@pytest.mark.parametrize("command", ["run", "check"])
def test_callback_without_secret_does_not_start(tmp_path: Path, command: str) -> None:
    config = _callback_config(tmp_path, secret="")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
    env["PYTHONPATH"] = bot_pythonpath()
    result = subprocess.run([sys.executable, "-m", "bot", command, "--config", str(config)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "[callback] secret" in result.stderr and "SFERUM_CALLBACK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_callback_app_itself_refuses_an_empty_secret() -> None:
    from bot.config import CallbackSettings
    from bot.vk.callback import callback_app

    async def feed(event: dict) -> None:  # pragma: no cover - never called
        raise AssertionError(event)

    with pytest.raises(ValueError, match="secret"):
        callback_app(CallbackSettings(confirmation="c", secret=""), 1, feed)


def test_example_config_documents_the_secret() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("secret"))
    assert "SFERUM_CALLBACK_SECRET" in line
    assert "Обязателен" in text
    raw = settings_from_dict({"vk": {"token": "t", "group_id": 1, "transport": "longpoll"},
                              "region": {"name": "X"}}, environ={})
    assert raw.vk.transport == "longpoll"  # long poll needs no secret: VK's own server is asked
