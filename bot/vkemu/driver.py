"""A test driver that acts as one VK user talking to the bot through the emulator."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .keyboard import button_labels, iter_buttons, payload_to_string
from .server import EventAnswer, ReceivedMessage, VKEmulator

STICKER_ATTACHMENT: dict[str, Any] = {
    "type": "sticker",
    "sticker": {
        "product_id": 1,
        "sticker_id": 1,
        "inner_type": "base_sticker_new",  # required by vkbottle-types' BaseSticker
        "is_allowed": True,
        "images": [
            {"url": "https://vk.com/sticker/1-1-128", "width": 128, "height": 128},
            {"url": "https://vk.com/sticker/1-1-256", "width": 256, "height": 256},
        ],
        "images_with_background": [],
    },
}

_photo_ids = itertools.count(457_239_017)


def photo_attachment(owner_id: int) -> dict[str, Any]:
    """A photo attachment object as VK puts it into message_new."""
    photo_id = next(_photo_ids)
    url = f"https://sun9-1.userapi.com/impg/{owner_id}_{photo_id}.jpg"
    return {
        "type": "photo",
        "photo": {
            "album_id": -3,
            "date": 1_700_000_000,
            "id": photo_id,
            "owner_id": owner_id,
            "access_key": "0a1b2c3d4e5f",
            "has_tags": False,
            "text": "",
            "sizes": [
                {"type": "s", "width": 75, "height": 56, "url": url},
                {"type": "x", "width": 604, "height": 453, "url": url},
            ],
        },
    }


@dataclass(slots=True)
class _Line:
    order: tuple[int, int, int]
    who: str
    text: str
    buttons: list[str] | None


class EmulatedUser:
    """Acts as a person: sends messages, presses buttons, reads the bot's replies."""

    def __init__(
        self,
        emu: VKEmulator,
        uid: int,
        first_name: str | None = None,
        last_name: str | None = None,
        allows_messages: bool | None = None,
        sex: int | None = None,
    ) -> None:
        """Registers the person. A new person has not allowed messages yet (the bot may
        answer once they write) unless allows_messages=True."""
        self.emu = emu
        self.uid = uid
        if allows_messages is None:
            allows_messages = emu.is_allowed(uid)
        emu.add_user(uid, first_name, last_name, allows_messages=allows_messages, sex=sex)
        self._cursor = 0
        self._own_lines: list[_Line] = []
        self._seq = itertools.count()

    # ------------------------------------------------------------------ sending

    async def send(
        self,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
        ref: str | None = None,
        ref_source: str | None = None,
        payload: Any = None,
    ) -> dict[str, Any]:
        event = await self.emu.user_message(
            self.uid, text, payload=payload, attachments=attachments, ref=ref,
            ref_source=ref_source,
        )
        label = text if not attachments else f"{text} [{', '.join(a['type'] for a in attachments)}]"
        self._log(event["object"]["message"]["id"], "Person", label.strip())
        return event

    async def send_sticker(self) -> dict[str, Any]:
        return await self.send("", attachments=[STICKER_ATTACHMENT])

    async def send_photo(self, text: str = "") -> dict[str, Any]:
        return await self.send(text, attachments=[photo_attachment(self.uid)])

    async def press(self, label: str) -> dict[str, Any] | None:
        """Press a visible button by label (exact, else unique case-insensitive substring).

        Text buttons send message_new with the button payload; callback buttons send
        message_event; open_link returns None (nothing goes to the bot)."""
        button, source = self._find_button(label)
        return await self.press_button(button, source)

    async def press_button(self, button: dict[str, Any],
                           source: ReceivedMessage | None) -> dict[str, Any] | None:
        """Press this very button of this message (an older inline keyboard stays pressable in
        VK, as here); `source` None means the keyboard under the input field."""
        action = button["action"]
        kind = action.get("type")
        from_one_time = source is not None and not source.inline and bool(
            (source.keyboard or {}).get("one_time")
        )
        if from_one_time and kind in ("text", "location"):
            self.emu.hide_keyboard(self.uid)
        if kind == "text":
            payload = action.get("payload")
            return await self.send(
                action["label"], payload=payload_to_string(payload) if payload is not None else None
            )
        if kind == "callback":
            cmid = source.conversation_message_id if source is not None else 0
            event = await self.emu.callback(self.uid, action.get("payload"), cmid, action["label"])
            self._log(None, "Person", f"[pressed: {action['label']}]")
            return event
        if kind == "open_link":
            self._log(None, "Person", f"[opened link: {action.get('link')}]")
            return None
        if kind == "location":
            geo = {"type": "point", "coordinates": {"latitude": 55.75, "longitude": 37.62}}
            event = await self.emu.user_message(self.uid, "", extra={"geo": geo})
            self._log(event["object"]["message"]["id"], "Person", "[location]")
            return event
        raise AssertionError(f"pressing {kind} buttons is not emulated (button {action.get('label')!r})")

    async def press_payload(self, payload: Any, label: str = "") -> dict[str, Any]:
        """Send a message_new with a forged button payload."""
        return await self.send(label, payload=payload_to_string(payload))

    # ------------------------------------------------------------------ reading

    async def next_reply(self, timeout: float = 5.0) -> ReceivedMessage:
        """The next delivered message this driver has not returned yet."""
        cursor = self._cursor
        ok = await self.emu.wait_for_user(
            self.uid, lambda: self.emu.inbox_size(self.uid) > cursor, timeout
        )
        if not ok:
            raise AssertionError(
                f"user {self.uid}: no reply within {timeout} s.\n{self.format_transcript()}"
            )
        self._cursor += 1
        return self.emu.message_at(self.uid, cursor)

    async def replies(self, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Everything the bot answers to what was sent so far: waits until the bot has taken
        every event and is idle (``VKEmulator.settle``), then returns the new messages — an
        empty list means the bot answered nothing, a fact rather than a quiet window."""
        await self.emu.settle(timeout)
        return self.pending()

    def pending(self, consume: bool = True) -> list[ReceivedMessage]:
        """Delivered messages not yet returned by next_reply/replies/pending, without
        waiting; consume=False only peeks (the cursor stays)."""
        messages = self.emu.inbox(self.uid)[self._cursor :]
        if consume:
            self._cursor += len(messages)
        return messages

    @property
    def inbox(self) -> list[ReceivedMessage]:
        return self.emu.inbox(self.uid)

    @property
    def keyboard(self) -> dict[str, Any] | None:
        return self.emu.keyboard_of(self.uid)

    def latest_inline(self) -> ReceivedMessage | None:
        """The most recent message that carries an inline keyboard with buttons."""
        inbox = self.emu.inbox(self.uid)
        for msg in reversed(inbox):
            if msg.inline and msg.keyboard and msg.keyboard.get("buttons"):
                return msg
        return None

    def buttons(self) -> list[str]:
        """Labels currently visible: the latest inline keyboard, then the persistent one."""
        inline = self.latest_inline()
        labels = button_labels(inline.keyboard) if inline else []
        return labels + button_labels(self.emu.keyboard_of(self.uid))

    # ------------------------------------------------------------------ transcript

    @property
    def transcript(self) -> list[tuple[str, str, list[str] | None]]:
        """(who, text, buttons) lines in dialog order; bot text is the latest edit."""
        lines = list(self._own_lines)
        for msg in self.emu.inbox(self.uid):
            text = msg.text
            if msg.attachments:
                text = f"{text} [{', '.join(msg.attachments)}]".strip()
            lines.append(_Line((msg.id, 0, 0), "Bot", text, msg.buttons or None))
        for answer in self.emu.event_answers:
            if answer.user_id == self.uid:
                order = (answer.after_message_id, 2, 0)
                lines.append(_Line(order, "Bot", _answer_text(answer), None))
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

    def _log(self, message_id: int | None, who: str, text: str) -> None:
        # Order by the community-wide message id; button presses that create no
        # message sort right after the last message that existed at the time.
        order = (message_id, 0, 0) if message_id else (self.emu.last_message_id, 1, next(self._seq))
        self._own_lines.append(_Line(order, who, text, None))

    def _find_button(self, label: str) -> tuple[dict[str, Any], ReceivedMessage | None]:
        inline = self.latest_inline()
        persistent = self.emu.keyboard_message_of(self.uid)
        sources: list[tuple[list[dict[str, Any]], ReceivedMessage | None]] = []
        if inline is not None:
            sources.append((iter_buttons(inline.keyboard), inline))
        keyboard = self.emu.keyboard_of(self.uid)
        if keyboard is not None:
            sources.append((iter_buttons(keyboard), persistent))
        for buttons, source in sources:
            for button in buttons:
                if button["action"].get("label") == label:
                    return button, source
        needle = label.casefold()
        matches = [
            (button, source)
            for buttons, source in sources
            for button in buttons
            if needle in str(button["action"].get("label", "")).casefold()
        ]
        if len(matches) == 1:
            return matches[0]
        available = " | ".join(self.buttons()) or "(no buttons)"
        problem = "is ambiguous" if matches else "not found"
        raise AssertionError(f"button {label!r} {problem}; visible buttons: {available}")


def _answer_text(answer: EventAnswer) -> str:
    data = answer.event_data or {}
    if data.get("type") == "show_snackbar":
        return f"[snackbar: {data.get('text')}]"
    if data.get("type") == "open_link":
        return f"[opens link: {data.get('link')}]"
    return "[callback answered]"


__all__ = ["STICKER_ATTACHMENT", "EmulatedUser", "photo_attachment"]
