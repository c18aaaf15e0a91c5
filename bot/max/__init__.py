"""The MAX Bot API transport: client, rate window, keyboards, polling and webhook receiving."""

from .api import DEFAULT_BASE_URL, MaxApi, MessageTooLongError, RetryPolicy, Updates, message_body
from .text import split_text
from .errors import (
    MaxApiError,
    MaxAttachmentNotReadyError,
    MaxBadRequestError,
    MaxBlockedError,
    MaxError,
    MaxForbiddenError,
    MaxNotFoundError,
    MaxRateLimitError,
    MaxServerError,
    MaxTokenError,
    MaxTransportError,
)
from .keyboards import CallbackButton, KeyboardLimitError, LinkButton, inline_keyboard
from .polling import MaxPoller
from .ratelimit import KeyedWindows, RequestWindow
from .updates import update_key, update_user_id
from .webhook import SECRET_HEADER, MaxWebhook

__all__ = [
    "DEFAULT_BASE_URL",
    "SECRET_HEADER",
    "CallbackButton",
    "KeyboardLimitError",
    "KeyedWindows",
    "LinkButton",
    "MaxApi",
    "MaxApiError",
    "MaxAttachmentNotReadyError",
    "MaxBadRequestError",
    "MaxBlockedError",
    "MaxError",
    "MaxForbiddenError",
    "MaxNotFoundError",
    "MaxPoller",
    "MaxRateLimitError",
    "MaxServerError",
    "MaxTokenError",
    "MaxTransportError",
    "MaxWebhook",
    "MessageTooLongError",
    "RequestWindow",
    "RetryPolicy",
    "Updates",
    "inline_keyboard",
    "message_body",
    "split_text",
    "update_key",
    "update_user_id",
]
