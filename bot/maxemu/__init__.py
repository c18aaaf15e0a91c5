"""Local MAX Bot API emulator and a driver that plays a MAX user."""

from .driver import MaxUser, image_attachment
from .keyboard import keyboard_error
from .server import (
    ApiCall,
    CallbackAnswer,
    MaxEmuError,
    MaxEmulator,
    ReceivedMessage,
    WebhookPush,
)

__all__ = [
    "ApiCall",
    "CallbackAnswer",
    "MaxEmuError",
    "MaxEmulator",
    "MaxUser",
    "ReceivedMessage",
    "WebhookPush",
    "image_attachment",
    "keyboard_error",
]
