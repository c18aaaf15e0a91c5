"""Buttons of questions to coordinators."""

from __future__ import annotations

from core.kernel.payloads import Payload


class AskCoordinator(Payload):
    """Offered under an unanswered question or a step's help; src says where it came from."""
    cmd: str = "ticket.ask"
    src: str = "faq"


class AnswerTicket(Payload):
    cmd: str = "ticket.answer"
    id: int


class ListTickets(Payload):
    cmd: str = "ticket.list"


class CancelTicket(Payload):
    cmd: str = "ticket.cancel"
