"""A test driver that acts as one MAX user talking to the bot through the emulator."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .keyboard import button_labels, button_rows
from .server import CallbackAnswer, MaxEmulator, ReceivedMessage

STICKER_ATTACHMENT: dict[str, Any] = {
    "type": "sticker",
    "payload": {"url": "https://i.oneme.ru/sticker/1.webp", "code": "a1b2c3"},
    "width": 128,
    "height": 128,
}

_photo_ids = itertools.count(3_470_000_001)


def image_attachment() -> dict[str, Any]:
    """A photo as MAX puts it into a person's message_created (PhotoAttachment [S])."""
    photo_id = next(_photo_ids)
    return {"type": "image", "payload": {"photo_id": photo_id,
                                         "token": f"tok{photo_id:x}",
                                         "url": f"https://i.oneme.ru/i?r={photo_id:x}"}}


@dataclass(slots=True)
class _Line:
    order: int
    who: str
    text: str
    buttons: list[str] | None


class MaxUser:
    """Acts as a person in MAX: starts and stops the bot, writes, presses buttons, reads."""

    def __init__(self, emu: MaxEmulator, user_id: int, first_name: str | None = None,
                 last_name: str | None = None, username: str | None = None,
                 locale: str = "ru", auto_start: bool = True) -> None:
        """auto_start: a person who writes to a bot they never started presses «Начать» first,
        as the MAX app requires (a bot_started without payload comes before the message)."""
        self.emu = emu
        self.user_id = user_id
        self.auto_start = auto_start
        emu.add_user(user_id, first_name, last_name, username, locale)
        self._cursor = 0
        self._own: list[_Line] = []

    @property
    def uid(self) -> int:
        return self.user_id

    # ------------------------------------------------------------------ doing

    async def start(self, payload: str | None = None) -> dict[str, Any]:
        """Press «Начать»; `payload` is the deep link's start parameter
        (https://max.ru/<bot>?start=<payload>)."""
        update = self.emu.user_started(self.user_id, payload)
        self._log("Person", f"[start{': ' + payload if payload else ''}]")
        return update

    async def stop(self) -> dict[str, Any]:
        """Stop (block) the bot."""
        update = self.emu.user_stopped(self.user_id)
        self._log("Person", "[stopped the bot]")
        return update

    async def send(self, text: str | None,
                   attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        if self.auto_start and self.emu.user_status(self.user_id) == "none":
            await self.start()
        update = self.emu.user_message(self.user_id, text, attachments)
        label = text or ""
        if attachments:
            label = f"{label} [{', '.join(a['type'] for a in attachments)}]".strip()
        self._log("Person", label)
        return update

    async def send_photo(self, text: str | None = None) -> dict[str, Any]:
        return await self.send(text, [image_attachment()])

    async def send_sticker(self) -> dict[str, Any]:
        return await self.send(None, [STICKER_ATTACHMENT])

    async def press(self, label: str) -> dict[str, Any] | None:
        """Press a button of the latest keyboard by label (exact, else a unique
        case-insensitive substring). Callback buttons give message_callback; a link
        button opens the link and sends nothing to the bot (None)."""
        button, message = self._find_button(label)
        return await self.press_button(button, message)

    async def press_button(self, button: dict[str, Any],
                           message: ReceivedMessage) -> dict[str, Any] | None:
        """Press this button of this message (older keyboards stay pressable, as in MAX [A])."""
        kind = button.get("type")
        if kind == "callback":
            update = self.emu.user_callback(self.user_id, str(button["payload"]), message)
            self._log("Person", f"[pressed: {button['text']}]")
            return update
        if kind == "link":
            self._log("Person", f"[opened link: {button.get('url')}]")
            return None
        if kind == "message":
            return await self.send(str(button["text"]))
        raise AssertionError(f"pressing {kind} buttons is not emulated ({button.get('text')!r})")

    async def press_payload(self, payload: str, message: ReceivedMessage | None = None,
                            ) -> dict[str, Any]:
        """A message_callback with a forged payload (no such button needs to exist)."""
        update = self.emu.user_callback(self.user_id, payload, message)
        self._log("Person", "[pressed a forged button]")
        return update

    # ------------------------------------------------------------------ reading

    async def next_reply(self, timeout: float = 5.0) -> ReceivedMessage:
        """The next message from the bot this driver has not returned yet."""
        cursor = self._cursor
        ok = await self.emu.wait_for_user(
            self.user_id, lambda: self.emu.inbox_size(self.user_id) > cursor, timeout)
        if not ok:
            raise AssertionError(f"user {self.user_id}: no reply within {timeout} s.\n"
                                 f"{self.format_transcript()}")
        self._cursor += 1
        return self.emu.inbox(self.user_id)[cursor]

    async def replies(self, count: int | None = None, timeout: float = 5.0,
                      quiet: float = 0.3) -> list[ReceivedMessage]:
        """With `count`: exactly the next `count` messages (waits for them). Without it, as the
        VK driver does: wait up to `timeout` for a first one, then collect until `quiet`
        seconds pass with nothing new (prefer a count, or a fact to wait for)."""
        if count is not None:
            return [await self.next_reply(timeout) for _ in range(count)]
        got: list[ReceivedMessage] = []
        wait = timeout
        while True:
            cursor = self._cursor
            if not await self.emu.wait_for_user(
                    self.user_id, lambda: self.emu.inbox_size(self.user_id) > cursor, wait):
                return got
            got.extend(self.pending())
            wait = quiet

    def pending(self, consume: bool = True) -> list[ReceivedMessage]:
        """Messages not returned yet, without waiting."""
        messages = self.emu.inbox(self.user_id)[self._cursor:]
        if consume:
            self._cursor += len(messages)
        return messages

    @property
    def inbox(self) -> list[ReceivedMessage]:
        return self.emu.inbox(self.user_id)

    @property
    def answers(self) -> list[CallbackAnswer]:
        """The bot's answers to this person's button presses (POST /answers)."""
        return self.emu.answers_of(self.user_id)

    def latest_keyboard(self) -> ReceivedMessage | None:
        """The most recent message that still carries an inline keyboard."""
        for msg in reversed(self.emu.inbox(self.user_id)):
            if msg.keyboard and not msg.deleted:
                return msg
        return None

    def buttons(self) -> list[str]:
        latest = self.latest_keyboard()
        return button_labels(latest.keyboard) if latest else []

    # ------------------------------------------------------------------ transcript

    @property
    def transcript(self) -> list[tuple[str, str, list[str] | None]]:
        """(who, text, buttons) in the order things happened; bot text is the latest edit."""
        lines = list(self._own)
        for msg in self.emu.inbox(self.user_id):
            text = msg.text
            if msg.files:
                text = f"{text} [{', '.join(msg.files)}]".strip()
            if msg.deleted:
                text = f"[deleted] {text}"
            lines.append(_Line(msg.order, "Bot", text, msg.buttons or None))
        for answer in self.answers:
            if answer.notification is not None:
                lines.append(_Line(answer.order, "Bot", f"[notice: {answer.notification}]", None))
        lines.sort(key=lambda line: line.order)
        return [(line.who, line.text, line.buttons) for line in lines]

    def format_transcript(self) -> str:
        out = []
        for who, text, buttons in self.transcript:
            line = f"{who}: {text}"
            if buttons:
                line += f" [buttons: {' | '.join(buttons)}]"
            out.append(line)
        return "\n".join(out)

    # ------------------------------------------------------------------ internals

    def _log(self, who: str, text: str) -> None:
        self._own.append(_Line(self.emu.next_order(), who, text, None))

    def _find_button(self, label: str) -> tuple[dict[str, Any], ReceivedMessage]:
        message = self.latest_keyboard()
        buttons = [b for row in button_rows(message.keyboard) for b in row] if message else []
        for button in buttons:
            if button.get("text") == label:
                return button, message  # type: ignore[return-value]
        needle = label.casefold()
        matches = [b for b in buttons if needle in str(b.get("text", "")).casefold()]
        if len(matches) == 1 and message is not None:
            return matches[0], message
        available = " | ".join(self.buttons()) or "(no buttons)"
        problem = "is ambiguous" if matches else "not found"
        raise AssertionError(f"button {label!r} {problem}; visible buttons: {available}")


__all__ = ["STICKER_ATTACHMENT", "MaxUser", "image_attachment"]
