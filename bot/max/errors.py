"""Errors of the MAX Bot API as typed exceptions.

MAX answers an error with an HTTP status and `{"code": str, "message": str}`
(../shared/MAX_PROTOCOL.md §1). The delivery engine decides per class: retry later (rate,
server), give up on the person (blocked), stop the bot (token), or drop the message (bad request).
"""

from __future__ import annotations

# 403 codes that mean "this person stopped the bot / the bot has no access to the dialog".
# [S] gives `chat.denied` as the example of the 403 "user suspended bot"; `error.dialog.suspended`
# is what third-party clients also check (the real body is unconfirmed, MAX_PROTOCOL.md §7).
BLOCKED_CODES = frozenset({"chat.denied", "error.dialog.suspended", "dialog.suspended"})
TOKEN_CODES = frozenset({"verify.token", "deprecated.token"})


class MaxError(Exception):
    """Anything that went wrong talking to MAX."""


class MaxTransportError(MaxError):
    """No usable answer: the connection failed or dropped, timed out, or the body was not JSON."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        # False only when the request provably never reached MAX (no connection was made):
        # resending it cannot duplicate anything.
        self.sent = sent


class MaxApiError(MaxError):
    """MAX answered with an error status and body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"MAX {status} {code}: {message}" if message else f"MAX {status} {code}")
        self.status = status
        self.code = code
        self.message = message


class MaxBadRequestError(MaxApiError):
    """400: the request itself is wrong (too long, bad keyboard, …); resending will not help."""


class MaxAttachmentNotReadyError(MaxBadRequestError):
    """400 `attachment.not.ready`: an uploaded file is still being processed; resend shortly."""


class MaxTokenError(MaxApiError):
    """401 `verify.token` (bad token) or 403 `deprecated.token` (token in the query string)."""


class MaxForbiddenError(MaxApiError):
    """403 other than a token problem: no access to this chat or resource."""


class MaxBlockedError(MaxForbiddenError):
    """403 on a dialog whose person stopped the bot (`bot_stopped`): stop writing to them."""


class MaxNotFoundError(MaxApiError):
    """404, e.g. `chat.not.found`, an unknown message id or callback id."""


class MaxRateLimitError(MaxApiError):
    """429: more than MAX allows (30 requests/s per bot, per a third party quoting MAX)."""

    def __init__(self, status: int, code: str, message: str,
                 retry_after: float | None = None) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class MaxServerError(MaxApiError):
    """5xx: MAX failed. The request may or may not have been carried out."""


def error_for(status: int, code: str, message: str,
              retry_after: float | None = None) -> MaxApiError:
    """The exception class for an HTTP status and MAX error code."""
    if status == 429:
        return MaxRateLimitError(status, code, message, retry_after)
    if status == 401 or code in TOKEN_CODES:
        return MaxTokenError(status, code, message)
    if status == 403:
        if code in BLOCKED_CODES:
            return MaxBlockedError(status, code, message)
        return MaxForbiddenError(status, code, message)
    if status == 404:
        return MaxNotFoundError(status, code, message)
    if status == 400:
        if code == "attachment.not.ready":
            return MaxAttachmentNotReadyError(status, code, message)
        return MaxBadRequestError(status, code, message)
    if status >= 500:
        return MaxServerError(status, code, message)
    return MaxApiError(status, code, message)


__all__ = [
    "BLOCKED_CODES",
    "MaxApiError",
    "MaxAttachmentNotReadyError",
    "MaxBadRequestError",
    "MaxBlockedError",
    "MaxError",
    "MaxForbiddenError",
    "MaxNotFoundError",
    "MaxRateLimitError",
    "MaxServerError",
    "MaxTokenError",
    "MaxTransportError",
    "error_for",
]
