"""Buttons of the FAQ: topics, answers, «Продолжить», the coordinators' misses and
reload, and «Добавить в справку» (core/faq/learning.py)."""

from __future__ import annotations

from core.kernel.payloads import Payload


class FaqTopics(Payload):
    cmd: str = "faq.topics"


class FaqTopic(Payload):
    cmd: str = "faq.topic"
    t: str
    p: int = 0


class FaqShow(Payload):
    cmd: str = "faq.show"
    id: str


class FaqMore(Payload):
    """«Подробнее»: the details and sources behind a short answer."""
    cmd: str = "faq.more"
    id: str


class Resume(Payload):
    """Back to where the person was before the detour."""
    cmd: str = "resume"


class FaqMisses(Payload):
    """«Частые вопросы» in the coordinator panel: questions the FAQ did not answer."""
    cmd: str = "faq.misses"


class FaqReload(Payload):
    """«Обновить справку» in a bot admin's coordinator panel."""
    cmd: str = "faq.reload"


class LearnOffer(Payload):
    """«Добавить в справку» under the coordinator's «ответ отправлен»."""
    cmd: str = "learn.offer"
    t: int


class LearnPhrase(Payload):
    cmd: str = "learn.phrase"
    t: int
    id: str


class LearnDraft(Payload):
    cmd: str = "learn.draft"
    t: int


class DraftPublish(Payload):
    cmd: str = "learn.pub"
    id: str


class DraftReject(Payload):
    cmd: str = "learn.rej"
    id: str
