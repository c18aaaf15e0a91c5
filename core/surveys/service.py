"""The weekly survey of self-reported difficulties with Sferum (seed 000: find and reduce
teachers' professional difficulties with the platform).

The survey is data: ``content/surveys/weekly.yaml`` (questions, options, conditions), validated by
the models below when the bot starts, so a methodist can change it without touching code. Answers
go to ``survey_answers`` at every step (one row per person and week, UNIQUE(week, vk_id)), so a
half-finished survey is kept and can be finished later in the same week; the last answer counts.

States are ``"survey:<question id>"`` with state_data ``{"week", "back", "back_data"}`` (where the
person was before, to return there). The flow, in one table:

| state              | event                                  | next                               |
|--------------------|----------------------------------------|------------------------------------|
| any                | Open(w) («Пройти опрос» in the invite) | the question it stopped at / first |
| any, week answered | Open(w)                                | «already answered» + Open(again)   |
| survey:<multi>     | Pick(q, opt) or its label typed        | same question, option toggled (✓)  |
| survey:<multi>     | Next («Дальше»)                        | next question (needs >= 1 option)  |
| survey:<single>    | Pick(q, opt) or its label typed        | next question                      |
| survey:<text>      | text typed / Skip (optional question)  | next question                      |
| survey:*           | Later («Позже»)                        | back where the person was; kept    |
| survey:*           | anything else                          | a polite hint + the same question  |
| last question done |                                        | completed = 1, back where they were|

"next question" skips questions whose ``when`` condition is not met (e.g. «other» free text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.surveys.payloads import SurveyLater, SurveyNext, SurveyOpen, SurveyPick, SurveySkip
from core.kernel.calendar import iso_week, zone
from core.kernel.menu import ASK_ROLE, main_menu
from core.kernel.refusals import not_understood
from core.kernel.screens import current_screen
from core.kernel.ui import LABEL_MAX, Button, Keyboard, Reply, prefixed
from core.kernel.yamltext import load_yaml
from storage.schedule import Place
from storage.surveys import SurveyAnswer

if TYPE_CHECKING:
    from core.kernel.deps import Deps

STATE = "survey"
SURVEY_FILE = "weekly.yaml"
OPTION_LABEL_MAX = LABEL_MAX - 2  # room for the «✓ » of a selected option
TICK = "✓ "
QuestionId = Literal["difficulties", "other", "confidence", "messages", "comment"]
# Each question id is a column of survey_answers, with the kind of answer it holds.
KIND_OF: dict[str, str] = {"difficulties": "multi", "other": "text", "confidence": "single",
                           "messages": "single", "comment": "text"}
COLUMN_OF: dict[str, str] = {"difficulties": "difficulties", "other": "other_text",
                             "confidence": "confidence", "messages": "messages",
                             "comment": "comment"}
# What the columns accept (CHECK constraints of migration 0005).
ALLOWED_OPTIONS: dict[str, set[str]] = {"confidence": {"1", "2", "3", "4", "5"},
                                        "messages": {"0", "1-9", "10+"}}
TEXT_LIMIT: dict[str, int] = {"other": 500, "comment": 1000}
MAX_MULTI_OPTIONS = 16   # 2 per row + «Дальше» + «Позже» within VK's 10 keyboard rows
MAX_SINGLE_OPTIONS = 8
_WORD = re.compile(r"\w", re.UNICODE)


class SurveyError(Exception):
    """The survey file is invalid; the message names the file and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SurveyOption(_Model):
    id: str = Field(pattern=r"^[a-z0-9+-]{1,16}$")
    label: str = Field(min_length=1, max_length=OPTION_LABEL_MAX)
    exclusive: bool = False  # choosing it clears the others («Трудностей не было»)


class Condition(_Model):
    question: QuestionId
    option: str


class SurveyQuestion(_Model):
    id: QuestionId
    kind: Literal["multi", "single", "text"]
    text: str = Field(min_length=1, max_length=1000)
    options: tuple[SurveyOption, ...] = ()
    optional: bool = False
    when: Condition | None = None

    @model_validator(mode="after")
    def _check(self) -> "SurveyQuestion":
        if self.kind != KIND_OF[self.id]:
            raise ValueError(f"question {self.id} must be of kind {KIND_OF[self.id]}")
        ids = [o.id for o in self.options]
        labels = [o.label.casefold() for o in self.options]
        if self.kind == "text":
            if self.options:
                raise ValueError(f"text question {self.id} cannot have options")
            return self
        if len(ids) < 2:
            raise ValueError(f"question {self.id} needs at least 2 options")
        limit = MAX_MULTI_OPTIONS if self.kind == "multi" else MAX_SINGLE_OPTIONS
        if len(ids) > limit:
            raise ValueError(f"question {self.id} has {len(ids)} options, at most {limit} fit")
        if len(set(ids)) != len(ids) or len(set(labels)) != len(labels):
            raise ValueError(f"options of {self.id} repeat an id or a label")
        allowed = ALLOWED_OPTIONS.get(self.id)
        if allowed is not None and not set(ids) <= allowed:
            raise ValueError(f"options of {self.id} must be among {sorted(allowed)}")
        if self.optional:
            raise ValueError(f"only text questions can be optional ({self.id})")
        return self

    def option(self, option_id: str) -> SurveyOption | None:
        return next((o for o in self.options if o.id == option_id), None)


class Survey(_Model):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    questions: tuple[SurveyQuestion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> "Survey":
        seen: dict[str, SurveyQuestion] = {}
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question {q.id} appears twice")
            if q.when is not None:
                base = seen.get(q.when.question)
                if base is None:
                    raise ValueError(f"{q.id}: 'when' must refer to an earlier question")
                if base.option(q.when.option) is None:
                    raise ValueError(f"{q.id}: {q.when.question} has no option {q.when.option}")
            seen[q.id] = q
        if self.questions[0].when is not None:
            raise ValueError("the first question cannot be conditional")
        return self

    # -- navigation ---------------------------------------------------------------------------
    def question(self, question_id: str) -> SurveyQuestion | None:
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def first(self) -> SurveyQuestion:
        return self.questions[0]

    @property
    def numbered(self) -> list[str]:
        """Questions everyone is asked (conditional follow-ups are not numbered)."""
        return [q.id for q in self.questions if q.when is None]

    def after(self, question_id: str, answer: SurveyAnswer | None) -> SurveyQuestion | None:
        """The next question to ask after this one, given the answers so far."""
        ids = [q.id for q in self.questions]
        for q in self.questions[ids.index(question_id) + 1:]:
            if q.when is None or q.when.option in _chosen(answer, q.when.question):
                return q
        return None


def load_survey(folder: Path, name: str = SURVEY_FILE) -> Survey:
    path = folder / name
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SurveyError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise SurveyError(f"{path}: invalid YAML: {exc}".replace("\n", " ")) from None
    try:
        return Survey.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise SurveyError(f"{path}: {where}: {first['msg']}") from None


def _chosen(answer: SurveyAnswer | None, question_id: str) -> tuple[str, ...]:
    """Option ids chosen in a question (a tuple for multi, one id for single)."""
    if answer is None:
        return ()
    value = getattr(answer, COLUMN_OF[question_id])
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    return (str(value),)


# --------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# What the person sees
# --------------------------------------------------------------------------------------------
def survey_of(deps: "Deps") -> Survey:
    return deps.services["surveys"]


def question_reply(conv: Conversation, q: SurveyQuestion, answer: SurveyAnswer | None,
                   note: str | None = None, toggled: bool = False) -> Reply:
    """The question with its buttons; after a toggle of a multi-select only what is ticked."""
    deps = conv.deps
    texts = deps.texts
    survey = survey_of(deps)
    parts = [note] if note else []
    chosen = _chosen(answer, q.id)
    labels = ", ".join(o.label for o in q.options if o.id in chosen)
    if toggled:
        key = "surveys.toggled" if chosen else "surveys.toggled_none"
        parts.append(texts.render(key, labels=labels, next=texts.label("btn.survey_next")))
    else:
        body = q.text
        if q.id in survey.numbered:
            progress = texts.render("surveys.progress", n=survey.numbered.index(q.id) + 1,
                                    total=len(survey.numbered))
            body = f"{progress} {body}"
        parts.append(body)
        if q.kind == "multi" and chosen:
            parts.append(texts.render("surveys.selected", labels=labels))
    rows: list[list[Button]] = []
    if q.kind == "multi":
        buttons = [Button(TICK + o.label if o.id in chosen else o.label,
                          SurveyPick(q=q.id, opt=o.id).dump(),
                          "positive" if o.id in chosen else "secondary") for o in q.options]
        rows += [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        rows.append([Button(texts.label("btn.survey_next"), SurveyNext().dump(), "primary")])
    elif q.kind == "single":
        buttons = [Button(o.label, SurveyPick(q=q.id, opt=o.id).dump(), "primary")
                   for o in q.options]
        one_row = len(buttons) <= 5 and all(len(o.label) <= 12 for o in q.options)
        rows += [buttons] if one_row else [[b] for b in buttons]
    elif q.optional:
        rows.append([Button(texts.label("btn.survey_skip"), SurveySkip().dump())])
    rows.append([Button(texts.label("btn.survey_later"), SurveyLater().dump())])
    return Reply("\n\n".join(parts), Keyboard.of(*rows), template=f"survey:{q.id}")


# --------------------------------------------------------------------------------------------
# The flow
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ctx:
    """What one step reads first (one locked read): the person's week, place and answer."""

    week: str                      # the person's current ISO week, in their local time
    place: Place
    answer: SurveyAnswer | None    # of ``week``


async def _load(conv: Conversation) -> _Ctx:
    deps = conv.deps
    async with deps.db.read() as tx:
        place = await tx.schedule.get_place(conv.person.vk_id)
        week = iso_week(deps.clock.now().astimezone(zone(deps.settings, place.timezone)).date())
        answer = await tx.surveys.get_answer(week, conv.person.vk_id)
    return _Ctx(week, place, answer)


async def _save(conv: Conversation, ctx: _Ctx, fields: dict[str, Any],
                state: str | None = None, data: dict[str, Any] | None = None) -> SurveyAnswer:
    """Write answer fields (territory and role copied now) and, when given, the person's new
    state, in one transaction. Entering the survey remembers where the person was."""
    deps = conv.deps
    now = unix(deps.clock)
    person = conv.person
    if state is not None and data is None:
        data = dict(person.state_data)
        if not person.state.startswith(STATE + ":"):
            data = {"back": person.state, "back_data": person.state_data}
        data["week"] = ctx.week
    async with deps.db.transaction() as tx:
        await tx.surveys.upsert_answer(ctx.week, person.vk_id, role=person.role or "",
                                       org_id=ctx.place.org_id,
                                       municipality_id=ctx.place.municipality_id, now=now,
                                       **fields)
        if state is not None:
            await tx.users.update_state(person.vk_id, state, data or {}, now)
        answer = await tx.surveys.get_answer(ctx.week, person.vk_id)
    assert answer is not None
    if state is not None:
        conv.person = person.model_copy(update={"state": state, "state_data": data or {}})
    return answer


def _back(conv: Conversation) -> tuple[str, dict[str, Any]]:
    """Where the person was before the survey (the menu if nowhere)."""
    data = conv.person.state_data
    back = data.get("back") or "menu"
    if back.startswith(STATE + ":"):
        return "menu", {}
    return back, data.get("back_data") or {}


async def _leave(conv: Conversation) -> None:
    state, data = _back(conv)
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, state, data, unix(conv.deps.clock))
    conv.person = conv.person.model_copy(update={"state": state, "state_data": data})


def _current(conv: Conversation) -> SurveyQuestion | None:
    state = conv.person.state
    if not state.startswith(STATE + ":"):
        return None
    return survey_of(conv.deps).question(state.split(":", 1)[1])


async def open_survey(conv: Conversation, week: str, again: bool = False) -> list[Reply]:
    deps = conv.deps
    if conv.person.role is None:
        return await conv.deps.registry.continuation(ASK_ROLE)(conv)
    ctx = await _load(conv)
    if week != ctx.week:
        return prefixed(deps.texts.render("surveys.closed"), await current_screen(conv))
    survey = survey_of(deps)
    answer = ctx.answer
    if answer is not None and answer.completed and not again:
        keyboard = Keyboard.of([Button(deps.texts.label("btn.survey_again"),
                                       SurveyOpen(w=week, again=True).dump())], inline=True)
        return [Reply(deps.texts.render("surveys.already"), keyboard, template="surveys.already")]
    q = survey.first
    if answer is not None and not again and answer.question:
        q = survey.question(answer.question) or survey.first
    answer = await _save(conv, ctx, {"question": q.id}, f"{STATE}:{q.id}")
    return [question_reply(conv, q, answer)]


async def _step(conv: Conversation) -> tuple[SurveyQuestion | None, _Ctx | None,
                                             list[Reply] | None]:
    """The open question and this step's context, or the replies that end the step early:
    not in a survey (an outdated button), or a survey state left over from a past week."""
    q = _current(conv)
    if q is None:
        return None, None, await not_understood(conv)
    ctx = await _load(conv)
    if conv.person.state_data.get("week") != ctx.week:
        await _leave(conv)
        closed = prefixed(conv.deps.texts.render("surveys.closed"), await current_screen(conv))
        return None, None, closed
    return q, ctx, None


def _again(conv: Conversation, q: SurveyQuestion, ctx: _Ctx, key: str,
           **values: Any) -> list[Reply]:
    return [question_reply(conv, q, ctx.answer, conv.deps.texts.render(key, **values))]


async def pick(conv: Conversation, question_id: str, option_id: str) -> list[Reply]:
    q, ctx, early = await _step(conv)
    if early is not None:
        return early
    assert q is not None and ctx is not None
    if question_id != q.id:
        return _again(conv, q, ctx, "surveys.other_question")
    option = q.option(option_id)
    if option is None:
        return _again(conv, q, ctx, "surveys.no_such_option")
    if q.kind == "single":
        value: Any = int(option.id) if q.id == "confidence" else option.id
        return await _advance(conv, q, ctx, {COLUMN_OF[q.id]: value})
    chosen = list(_chosen(ctx.answer, q.id))
    if option.id in chosen:
        chosen.remove(option.id)
    elif option.exclusive:
        chosen = [option.id]
    else:
        exclusive = {o.id for o in q.options if o.exclusive}
        chosen = [c for c in chosen if c not in exclusive] + [option.id]
    ordered = [o.id for o in q.options if o.id in chosen]
    answer = await _save(conv, ctx, {COLUMN_OF[q.id]: ordered})
    return [question_reply(conv, q, answer, toggled=True)]


async def next_step(conv: Conversation) -> list[Reply]:
    """«Дальше» under a multi-select question."""
    q, ctx, early = await _step(conv)
    if early is not None:
        return early
    assert q is not None and ctx is not None
    if q.kind != "multi":
        return [question_reply(conv, q, ctx.answer)]
    if not _chosen(ctx.answer, q.id):
        return _again(conv, q, ctx, "surveys.need_choice",
                      next=conv.deps.texts.label("btn.survey_next"))
    return await _advance(conv, q, ctx, {})


async def skip(conv: Conversation) -> list[Reply]:
    q, ctx, early = await _step(conv)
    if early is not None:
        return early
    assert q is not None and ctx is not None
    if not q.optional:
        return [question_reply(conv, q, ctx.answer)]
    return await _advance(conv, q, ctx, {COLUMN_OF[q.id]: None})


async def later(conv: Conversation) -> list[Reply]:
    texts = conv.deps.texts
    if _current(conv) is not None:
        await _leave(conv)
    text = texts.render("surveys.later", start=texts.label("btn.survey_start"),
                        reminders=texts.label("btn.reminders"))
    return prefixed(text, await current_screen(conv))


def _normal(text: str) -> str:
    """A typed answer as compared with option labels and ids: unlike the kernel's ``words``,
    «+» and «-» stay (the ids «10+», «1-9» are answers) and the tick of a chosen option goes."""
    return " ".join(re.sub(r"[^\w+-]+", " ", text.replace(TICK, "").casefold()).split())


async def typed(conv: Conversation, text: str) -> list[Reply]:
    """Text typed while a question is open: the answer to a text question, or a button's label."""
    if _current(conv) is None:
        return await not_understood(conv)
    texts = conv.deps.texts
    said = _normal(text)
    controls = {_normal(texts.label("btn.survey_later")): later,
                _normal(texts.label("btn.survey_next")): next_step,
                _normal(texts.label("btn.survey_skip")): skip}
    if said in controls:
        return await controls[said](conv)
    q, ctx, early = await _step(conv)
    if early is not None:
        return early
    assert q is not None and ctx is not None
    if q.kind != "text":
        option = next((o for o in q.options if said in (_normal(o.label), o.id)), None)
        if option is not None:
            return await pick(conv, q.id, option.id)
        return _again(conv, q, ctx, "surveys.use_buttons", later=texts.label("btn.survey_later"))
    value = text.strip()
    if not _WORD.search(value):
        return _again(conv, q, ctx, "surveys.text_unreadable", skip=texts.label("btn.survey_skip"))
    limit = TEXT_LIMIT[q.id]
    note = texts.render("surveys.text_cut", limit=limit) if len(value) > limit else None
    return await _advance(conv, q, ctx, {COLUMN_OF[q.id]: value[:limit]}, note)


async def _advance(conv: Conversation, q: SurveyQuestion, ctx: _Ctx, fields: dict[str, Any],
                   note: str | None = None) -> list[Reply]:
    """Store this question's answer and move on -- to the next question, or to the end -- in
    one write."""
    survey = survey_of(conv.deps)
    update = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    merged = ctx.answer.model_copy(update=update) if ctx.answer is not None else None
    nxt = survey.after(q.id, merged)
    # Follow-ups whose condition is no longer met («other» unticked) lose their old answer.
    ids = [x.id for x in survey.questions]
    stop = ids.index(nxt.id) if nxt is not None else len(ids)
    cleared = {COLUMN_OF[x]: None for x in ids[ids.index(q.id) + 1:stop]}
    if nxt is not None:
        answer = await _save(conv, ctx, {**fields, **cleared, "question": nxt.id},
                             f"{STATE}:{nxt.id}")
        return [question_reply(conv, nxt, answer, note)]
    state, data = _back(conv)
    answer = await _save(conv, ctx, {**fields, **cleared, "completed": True, "question": None},
                         state, data)
    key = "surveys.done_active" if answer.messages == "10+" else "surveys.done"
    thanks = conv.deps.texts.render(key)
    return prefixed(f"{note}\n\n{thanks}" if note else thanks, await _back_screen(conv))


async def _back_screen(conv: Conversation) -> list[Reply]:
    if conv.person.state in ("", "menu"):
        return [main_menu(conv)]
    return await current_screen(conv)


async def screen(conv: Conversation) -> list[Reply]:
    """The open question again (after an FAQ answer, bad input or an outdated button)."""
    q = _current(conv) or survey_of(conv.deps).first
    week = conv.person.state_data.get("week")
    answer = None
    if week:
        async with conv.deps.db.read() as tx:
            answer = await tx.surveys.get_answer(week, conv.person.vk_id)
    return [question_reply(conv, q, answer)]


