"""Local VK Bots API + Long Poll emulator and a driver that plays a VK user."""

from .driver import EmulatedUser
from .keyboard import parse_keyboard, validate_keyboard
from .server import ApiCall, EventAnswer, ReceivedMessage, VKEmulator, VKError

__all__ = [
    "ApiCall",
    "EmulatedUser",
    "EventAnswer",
    "ReceivedMessage",
    "VKEmulator",
    "VKError",
    "parse_keyboard",
    "validate_keyboard",
]
