"""Rights are the routes' and the services', never the order of a list (issue 10).

Three layers, each tested here without a hand-written list of "coordinator routes" that could
drift from the code:

- the walk: every route of ``core.features.registry()`` whose call reaches a service marked
  ``@for_coordinators`` / ``@for_bot_admins`` (found through the call graph of the route's call,
  lambdas and local imports included) declares a privileged ``need`` with an explicit refusal,
  and every privileged route reaches such a service (its ``need`` is never the only check);
  a button model of a privileged route, a coordinator-only state and a coordinator-only feature
  are privileged wherever they appear; and the walk itself must find every marked service, so
  it cannot quietly go blind;
- forged input through the real bot: every privileged button, built from its pydantic model with
  ids of real rows, and every privileged typed command, sent by a teacher and by a parent: a
  polite refusal, nobody's data in it, and the database (and the learned FAQ files) unchanged
  except for the sender's own bookkeeping (listed in ``OWN_BOOKKEEPING``, with why); the same
  presses by a municipal coordinator show and change nothing of another municipality;
- defence in depth: each service that reads or changes other people's data, called directly
  with a teacher's ``Conversation`` (no route in between), raises ``NotAllowed`` and returns
  nothing.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest

from core.features import FEATURES, registry
from core.kernel.access import REGION, Access, NotAllowed, Scope, rights_of
from core.kernel.clock import unix
from core.kernel.commands import Said
from core.kernel.conversation import Conversation, Incoming
from core.kernel.normalise import command_words
from core.kernel.payloads import Payload
from core.kernel.routes import Command, InState, Route
from tests import dsl
from tests.conftest import COORDINATOR, MUNICIPAL_COORDINATOR, InProcessBot
from tests.dsl import start_as

# -- the walk over the call graph ---------------------------------------------------------------


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _callees(fn: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Functions ``fn`` may call: globals it names, attributes it names of modules it names
    (``crd.set_status`` in a lambda, ``from core.faq.learning import offer`` inside a
    function), functions in its closure and the registry's continuations it asks for by key
    (how features call each other)."""
    if isinstance(fn, functools.partial):
        yield fn.func
        return
    fn = inspect.unwrap(getattr(fn, "__func__", fn))  # a bound method: its function
    code = getattr(fn, "__code__", None)
    if code is None:
        return
    codes = list(_code_objects(code))
    names = {n for c in codes for n in c.co_names}
    namespace = getattr(fn, "__globals__", {})
    if "continuation" in names:  # ``conv.deps.registry.continuation(KEY)(conv, ...)``
        continuations = registry().continuations
        keys = {k for c in codes for k in c.co_consts if isinstance(k, str)} \
            | {namespace[n] for n in names if isinstance(namespace.get(n), str)}
        yield from (continuations[k] for k in keys if k in continuations)
    modules = [m for n in names
               if isinstance(m := namespace.get(n) or sys.modules.get(n), types.ModuleType)]
    for name in names:
        found = namespace.get(name)
        if callable(found):
            yield found
        for module in modules:
            found = getattr(module, name, None)
            if callable(found) and not isinstance(found, type):
                yield found
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:
            continue
        if callable(content):
            yield content


def _ours(fn: Callable[..., Any]) -> bool:
    fn = fn.func if isinstance(fn, functools.partial) else fn
    module = getattr(inspect.unwrap(fn), "__module__", "") or ""
    # the kernel imports no feature: nothing in it reaches a feature's service statically
    return module.startswith("core.") and not module.startswith("core.kernel")


def reached(call: Callable[..., Any]) -> dict[str, str]:
    """Marked services a call reaches: qualified name -> "coordinator" / "bot_admin"."""
    found: dict[str, str] = {}
    seen: set[int] = set()
    todo = [call]
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        right = rights_of(fn)
        if right is not None:
            found[f"{fn.__module__}.{fn.__qualname__}"] = right
            continue  # it checks for itself from here on
        todo.extend(c for c in _callees(fn) if _ours(c))
    return found


def marked_services() -> dict[str, str]:
    """Every marked service in core/ (the walk must reach each of them)."""
    found = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("core.") or module is None:
            continue
        for value in vars(module).values():
            right = rights_of(value) if callable(value) else None
            if right is not None and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = right
    return found


def _label(route: Route) -> str:
    return f"{route.name} ({inspect.unwrap(route.call).__module__})"


def _privileged_states() -> tuple[str, ...]:
    return registry().privileged_states


def test_every_route_that_reaches_a_coordinator_service_declares_the_need() -> None:
    routes = registry().routes
    checked = privileged = 0
    reached_anywhere: dict[str, str] = {}
    for route in routes:
        services = reached(route.call)
        reached_anywhere.update(services)
        checked += 1
        privileged += route.need.privileged
        if "bot_admin" in services.values():
            assert route.need.kind == "bot_admin", (_label(route), services)
        elif services:
            assert route.need.privileged, (_label(route), services)
        # and the other way round: what a privileged route runs checks for itself too, so a
        # new coordinator's route cannot rely on its ``need`` alone (defence in depth)
        if route.need.kind == "bot_admin":
            assert "bot_admin" in services.values(), (_label(route), "reaches no @for_bot_admins")
        elif route.need.privileged:
            assert services, (_label(route), "reaches no @for_coordinators service")
        if route.need.privileged and route.payloads:
            # a forged button is refused, never handed on to the next routes
            assert route.need.refusal in ("screen", "command"), _label(route)
    assert checked == len(routes) > 100 and privileged > 40
    # the walk is not blind: it reaches every service that is marked
    assert set(marked_services()) == set(reached_anywhere), \
        set(marked_services()) ^ set(reached_anywhere)


def test_a_privileged_button_or_state_is_privileged_wherever_it_appears() -> None:
    routes = registry().routes
    privileged_models = {m for r in routes if r.need.privileged for m in r.payloads}
    # the features' own lists of coordinators' buttons count too
    for name, module in list(sys.modules.items()):
        if name.startswith("core.") and module is not None:
            privileged_models.update(getattr(module, "COORDINATOR_PAYLOADS", ()))
    states = _privileged_states()
    assert states and privileged_models
    for route in routes:
        for model in route.payloads:
            if model in privileged_models:
                assert route.need.privileged, (_label(route), model.__name__)
        for condition in route.match:
            if isinstance(condition, InState) and \
                    any(p.startswith(states) or s.startswith(p)
                        for p in condition.prefixes for s in states):
                assert route.need.privileged, (_label(route), condition.prefixes)
    # every such button is taken by some route (none falls through to the fallback)
    taken = {m for r in routes for m in r.payloads}
    assert privileged_models <= taken, privileged_models - taken


def test_coordinator_only_features_and_commands_declare_the_need() -> None:
    by_name = {f.name: f for f in FEATURES}
    for route in by_name["activation"].routes["coordinators"]:  # the coordinators' queue
        assert route.need.kind == "coordinator", _label(route)
    # what «помощь» lists a command for is what its route demands
    commands = {c.name: c for c in registry().commands}
    for route in registry().routes:
        for condition in route.match:
            if isinstance(condition, Said):
                for name in condition.names:
                    assert commands[name].need.kind == route.need.kind, (name, _label(route))


# -- forged input through the real bot -----------------------------------------------------------

TEACHER, PARENT = 7001, 7002
SECRET_NAME = "Тайнова Вера Петровна"
SECRET_PHONE = "+79131234567"
SECRET_QUESTION = "Как подключить гимназию? Звоните +7 913 555-12-34"
SECRET_ANSWER = "Ссылку пришлём директору лично"
SECRET_BROADCAST = "Совещание директоров в пятницу"
INVITE_CODE = "KX7M4TP"
OWN_NAME = "Искитимова Ольга Ивановна"  # the application and question of Искитимский район
OWN_PHONE = "+79137654321"
OWN_QUESTION_TEXT = "Где взять ссылку для педагогов Искитимской школы?"
# what only a regional coordinator may see: г. Новосибирск's rows and the regional broadcast
NSK_SECRETS = (SECRET_NAME, SECRET_PHONE, "555-12-34", "boss@nsk", SECRET_QUESTION[:20],
               SECRET_BROADCAST, "Гимназия № 3")
SECRETS = (*NSK_SECRETS, SECRET_ANSWER, OWN_NAME, OWN_PHONE, OWN_QUESTION_TEXT[:20],
           "Искитимская СОШ")

# What a refused person may still change in the database: their own bookkeeping, nothing else.
OWN_BOOKKEEPING = {
    # the long-poll event id of each of their messages, kept so a replay is handled once
    "processed_events": "every row",
    # «last seen»: every incoming message refreshes it (reachability, reminders' windows)
    "users": "last_inbound_at, updated_at of the sender's own row",
    # where the bot is in the messenger's stream of updates (MAX's poll marker): moves with
    # every update, whoever sent it
    "transport_state": "every row",
}
# Typed words that are a command only for coordinators (``refusal=None``) are, from anyone else,
# a question for the FAQ, handled as every question they type is: also their own.
OWN_QUESTION = {
    # the question is remembered for «Спросить координатора» under the answer
    "users": "state_data of the sender's own row",
    # a question the FAQ did not know, counted for the coordinators' «частые вопросы»
    "faq_misses": "rows of the sender's own questions",
}

# Someone left in a coordinator's dialog (their rights were revoked meanwhile) leaves it.
LEFT_DIALOG = {"users": "state, state_data of the sender's own row"}


async def _seed(app: Any) -> dict[str, Any]:
    """Two of everything a coordinator's button may point at, with ids 1 and 2 (so any id in
    a forged payload is a real row): organisations, applications with a phone, tickets (one
    open, one answered), broadcasts (one scheduled, one a draft), a coordinator's grant, a
    draft of the help made from the answered ticket."""
    now = unix(app.deps.clock)
    async with app.deps.db.read() as tx:
        muns = {m.name: m.id for m in await tx.territory.list_municipalities()}
    nsk, isk = muns["г. Новосибирск"], muns["Искитимский район"]
    async with app.deps.db.transaction() as tx:
        for vk_id in (5001, 5002, MUNICIPAL_COORDINATOR):
            await tx.users.upsert_seen(vk_id, now)
        org = await tx.activation.upsert_org(None, "Гимназия № 3 Новосибирска", "school", nsk,
                                             5001, 1, now)
        own = await tx.activation.upsert_org(None, "Искитимская СОШ № 1", "school", isk, 5002,
                                             2, now)
        assert (org.id, own.id) == (1, 2)
        for vk_id, o in ((5001, org.id), (5002, own.id)):
            await tx.users.update_org(vk_id, o, now)
        apps = [await tx.activation.insert_application(org.id, 5001, SECRET_NAME, SECRET_PHONE,
                                                       "boss@nsk.example", now),
                await tx.activation.insert_application(own.id, 5002, OWN_NAME, OWN_PHONE,
                                                       None, now)]
        tickets = [await tx.tickets.insert_ticket(5001, "faq", SECRET_QUESTION, nsk, now),
                   await tx.tickets.insert_ticket(5002, "faq", OWN_QUESTION_TEXT, isk, now)]
        assert await tx.tickets.update_answer(tickets[1].id, SECRET_ANSWER, COORDINATOR, now)
        await tx.tickets.insert_miss(SECRET_QUESTION, "подключить гимназию", now, 5001, nsk)
        scheduled = await tx.broadcasts.insert_draft(COORDINATOR, None, now)
        await tx.broadcasts.update_content(scheduled.id, SECRET_BROADCAST, (), now)
        assert await tx.broadcasts.update_scheduled(scheduled.id, now + 86400, now)
        draft = await tx.broadcasts.insert_draft(COORDINATOR, None, now)
        await tx.territory.upsert_grant(MUNICIPAL_COORDINATOR, isk, COORDINATOR, now)
        await tx.activation.update_invite_code(own.id, INVITE_CODE)
    assert [a for a in apps] == [1, 2] and [t.id for t in tickets] == [1, 2]
    assert (scheduled.id, draft.id) == (1, 2)
    # the draft of the help, made as a coordinator makes it
    from core.faq import learning

    coordinator = await _conversation(app, COORDINATOR, Access(COORDINATOR, scope=REGION))
    await learning.add_draft(coordinator, tickets[1].id)
    drafts = sorted(p.stem for p in (learning.learned_folder(coordinator) / "drafts").glob("*.md"))
    assert drafts == ["learned-2"], drafts
    return {"draft": drafts[0], "code": INVITE_CODE, "entry": next(iter(learning.service(coordinator).book.entries)),
            "learned": learning.learned_folder(coordinator)}


async def _conversation(app: Any, vk_id: int, access: Access, state: str = "menu",
                        data: dict[str, Any] | None = None) -> Conversation:
    async with app.deps.db.transaction() as tx:
        await tx.users.upsert_seen(vk_id, unix(app.deps.clock))
        await tx.users.update_state(vk_id, state, data or {}, unix(app.deps.clock))
        person = await tx.users.get_user(vk_id)
    return Conversation(app.deps, person, access, Incoming(vk_id, "", f"t{vk_id}"))


def _candidates(annotation: Any, field: str, real: dict[str, Any], now: int) -> list[Any]:
    """Plausible values of one field: every choice of a Literal; the ids 1 and 2 (real rows of
    every table) and a moment a day ahead for ints; real string ids for strings."""
    origin = get_origin(annotation)
    if origin is Literal:
        return list(get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return [*_candidates(inner[0], field, real, now), None]
    if annotation is bool:
        return [True, False]
    if annotation is int:
        return [1, 2, now + 86400]
    if annotation is str:
        named = {"w": ["2026-W47"], "code": [real["code"]], "id": [real["draft"], real["entry"]],
                 "field": ["full_name", "phone"]}
        return named.get(field, ["1", "staff", "all"])
    raise AssertionError(f"no plausible value for {field}: {annotation}")


def forged_payloads(model: type[Payload], real: dict[str, Any], now: int) -> list[Payload]:
    """One instance with the first plausible value of each field, then each other value of one
    field at a time."""
    fields = {name: _candidates(f.annotation, name, real, now)
              for name, f in model.model_fields.items() if name != "cmd"}
    base = {name: values[0] for name, values in fields.items()}
    made = [model(**base)]
    for name, values in fields.items():
        made.extend(model(**{**base, name: v}) for v in values[1:])
    return made


def typed_commands(app: Any) -> list[tuple[Route, str]]:
    """Every privileged typed command, in each of its forms, bare and with an argument that
    points at real data (an id, a municipality, the municipal coordinator's VK id)."""
    texts = app.deps.texts
    commands = {c.name: c for c in registry().commands}
    found = []
    for route in registry().routes:
        if not route.need.privileged:
            continue
        for condition in route.match:
            if isinstance(condition, Command):
                forms = [(w, condition.with_args) for key in condition.keys
                         for w in command_words(texts.render(key))]
            elif isinstance(condition, Said):
                forms = [(w, commands[n].with_args) for n in condition.names
                         for w in command_words(texts.render(f"admin.cmd.{n}"))]
            else:
                continue
            for word, with_args in forms:
                found.append((route, word))
                if with_args:
                    found.extend((route, f"{word} {arg}") for arg in
                                 ("1", str(MUNICIPAL_COORDINATOR), "г. Новосибирск"))
    return found


async def snapshot(app: Any, learned: Path) -> dict[str, Any]:
    async with app.deps.db.read() as tx:
        tables = [r[0] for r in await tx.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        rows = {t: sorted(map(tuple, await tx.fetchall(f"SELECT * FROM {t}")), key=repr)
                for t in tables}
        columns = {t: [r[1] for r in await tx.fetchall(f"PRAGMA table_info({t})")]
                   for t in tables}
    files = {str(p.relative_to(learned)): p.read_bytes() for p in learned.rglob("*") if p.is_file()}
    return {"rows": rows, "columns": columns, "files": files}


def _without_own_bookkeeping(shot: dict[str, Any], sender: int, question: bool,
                             left_dialog: bool) -> dict[str, Any]:
    """The snapshot without what ``OWN_BOOKKEEPING`` (and, for words that went on to the FAQ,
    ``OWN_QUESTION``; for someone who was in a coordinator's dialog, ``LEFT_DIALOG``) lets the
    sender change."""
    rows = dict(shot["rows"])
    rows.pop("processed_events", None)
    rows.pop("transport_state", None)
    if "accounts" in rows:  # the sender's messenger account, made by their first message
        owner = shot["columns"]["accounts"].index("person_id")
        rows["accounts"] = [r for r in rows["accounts"] if r[owner] != sender]
    columns = shot["columns"]["users"]
    own = ["last_inbound_at", "updated_at"] + (["state_data"] if question else []) \
        + (["state", "state_data"] if left_dialog else [])
    key, skip = columns.index("vk_id"), {columns.index(c) for c in own}
    rows["users"] = [tuple(None if (row[key] == sender and i in skip) else v
                           for i, v in enumerate(row)) for row in rows["users"]]
    if question:
        asker = shot["columns"]["faq_misses"].index("vk_id")
        rows["faq_misses"] = [r for r in rows["faq_misses"] if r[asker] != sender]
    return {"rows": rows, "files": shot["files"]}


def _changes(before: dict[str, Any], after: dict[str, Any], sender: int,
             question: bool = False, left_dialog: bool = False) -> dict[str, Any]:
    a = _without_own_bookkeeping(before, sender, question, left_dialog)
    b = _without_own_bookkeeping(after, sender, question, left_dialog)
    changed = {t: (sorted(set(a["rows"].get(t, [])) ^ set(b["rows"].get(t, [])), key=repr))
               for t in set(a["rows"]) | set(b["rows"])
               if a["rows"].get(t) != b["rows"].get(t)}
    if a["files"] != b["files"]:
        changed["learned files"] = sorted(set(a["files"].items()) ^ set(b["files"].items()))
    return changed


def refusal_of(route: Any, forged: Any) -> str:
    """A pressed button is refused with the screen the person is on (the command's refusal
    invites them to type a question, which answers typed words only)."""
    return "screen" if isinstance(forged, Payload) else route.need.refusal


async def test_forged_buttons_and_commands_are_refused_and_change_nothing(
        bot_inprocess: InProcessBot, users: Any) -> None:
    app = bot_inprocess.app
    real = await _seed(app)
    now = unix(app.deps.clock)
    texts = app.deps.texts
    refusals = {"screen": texts.render("input.not_allowed").strip(),
                "command": texts.render("admin.refused").strip()}
    people = {TEACHER: await start_as(users, TEACHER, dsl.TEACHER, "Анна", "Проверкина"),
              PARENT: await start_as(users, PARENT, dsl.PARENT, "Мария", "Проверкина")}
    for person in people.values():
        person.pending()  # the offer of reminders after the role

    buttons = [(route, payload) for route in registry().routes
               if route.need.privileged for model in route.payloads
               for payload in forged_payloads(model, real, now)]
    typed = typed_commands(app)
    # the organisation admin's and the staff member's buttons, from those of another role
    roles = {TEACHER: "staff", PARENT: "parent"}
    others = {uid: [(route, payload) for route in registry().routes
                    if route.need.kind == "role" and role not in route.need.roles
                    for model in route.payloads for payload in forged_payloads(model, real, now)]
              for uid, role in roles.items()}
    assert len(buttons) > 60 and len(typed) > 30 and len(others[PARENT]) > len(others[TEACHER])
    cases = 0
    for uid, person in people.items():
        for route, forged in [*buttons, *typed, *others[uid]]:
            before = await snapshot(app, real["learned"])
            if isinstance(forged, Payload):
                shown_as = " ".join(f"{k}={v}" for k, v in forged.dump().items() if k != "cmd")
                await person.press_payload(forged.dump(), label=f"[{forged.cmd} {shown_as}]")
            else:
                await person.send(forged)
            await bot_inprocess.emu.settle()  # a fact: every event taken, nothing in flight
            got = person.pending()
            what = (uid, route.name, forged)
            assert got, (*what, "no answer at all")
            shown = "\n".join(m.text for m in got)
            assert not [s for s in SECRETS if s in shown], (*what, shown)
            assert not any(m.attachments for m in got), what
            if isinstance(forged, Payload) or route.need.refusal is not None:
                assert refusals[refusal_of(route, forged)] in shown, (*what, shown)
            question = not isinstance(forged, Payload) and route.need.refusal is None
            changes = _changes(before, await snapshot(app, real["learned"]), uid, question)
            assert not changes, (*what, changes)
            cases += 1
    assert cases == 2 * (len(buttons) + len(typed)) + len(others[TEACHER]) + len(others[PARENT])
    print(f"forged: {len(buttons)} privileged buttons, {len(typed)} typed commands,"
          f" {len(others[TEACHER])}/{len(others[PARENT])} buttons of other roles; {cases} cases")


async def test_text_typed_in_a_coordinators_dialog_without_the_right(
        bot_inprocess: InProcessBot, users: Any) -> None:
    """A teacher and a parent left in each state of a coordinator's dialog (as if their rights
    were revoked in the middle, with the dialog's ids of real rows) type text and a photo:
    nothing of the dialog happens, nobody's data is shown, the database keeps everything but
    their own bookkeeping."""
    app = bot_inprocess.app
    real = await _seed(app)
    states = sorted({prefix for route in registry().routes if route.need.privileged
                     for condition in route.match if isinstance(condition, InState)
                     for prefix in condition.prefixes} | set(_privileged_states()))
    assert len(states) >= 3, states
    data = {"app": 1, "ticket": 1, "id": 2}  # a rejected application, a question, a draft
    cases = 0
    for uid, role_label in ((TEACHER, dsl.TEACHER), (PARENT, dsl.PARENT)):
        person = await start_as(users, uid, role_label, "Анна", "Проверкина")
        person.pending()
        for state in states:
            for typed in ("Дубль заявки, отклоняю", "Ответ: ссылка в письме", "1", "photo"):
                async with app.deps.db.transaction() as tx:
                    await tx.users.update_state(uid, state, data, unix(app.deps.clock))
                before = await snapshot(app, real["learned"])
                await (person.send_photo("Вложение к рассылке") if typed == "photo"
                       else person.send(typed))
                await bot_inprocess.emu.settle()  # a fact: every event taken, nothing in flight
                got = person.pending()
                assert got, (uid, state, typed, "no answer at all")
                shown = "\n".join(m.text for m in got)
                assert not [s for s in SECRETS if s in shown], (uid, state, typed, shown)
                changes = _changes(before, await snapshot(app, real["learned"]), uid,
                                   question=True, left_dialog=True)
                assert not changes, (uid, state, typed, changes)
                cases += 1
    assert cases == 2 * 4 * len(states)


def _regional_rows(shot: dict[str, Any]) -> dict[str, Any]:
    """Rows only a regional coordinator may change: г. Новосибирск's organisation, application,
    question, miss and applicant (all id 1 / 5001), the regional coordinator's broadcasts, the
    grants."""
    def rows(table: str, column: str, values: set[Any]) -> list[Any]:
        at = shot["columns"][table].index(column)
        return [r for r in shot["rows"][table] if r[at] in values]

    return {"organisations": rows("organisations", "id", {1}),
            "applications": rows("applications", "id", {1}),
            "tickets": rows("tickets", "id", {1}),
            "faq_misses": rows("faq_misses", "vk_id", {5001}),
            "users": rows("users", "vk_id", {5001}),
            "broadcasts": rows("broadcasts", "author_vk_id", {COORDINATOR}),
            "coordinator_grants": shot["rows"]["coordinator_grants"]}


async def test_a_municipal_coordinator_forging_buttons_stays_in_their_municipality(
        bot_inprocess: InProcessBot, users: Any) -> None:
    """The coordinator of Искитимский район presses every coordinator's and admin's button
    (ids 1 are г. Новосибирск's rows, 2 their own) and types every command: bot admins' ones are
    refused; nothing of г. Новосибирск is shown or put in a file, and none of its rows change."""
    app = bot_inprocess.app
    emu = bot_inprocess.emu
    real = await _seed(app)
    now = unix(app.deps.clock)
    texts = app.deps.texts
    refusals = {"screen": texts.render("input.not_allowed").strip(),
                "command": texts.render("admin.refused").strip()}
    municipal = await start_as(users, MUNICIPAL_COORDINATOR, dsl.COORDINATOR_ROLE, "Ирина",
                               "Соколова")
    municipal.pending()
    buttons = [(route, payload) for route in registry().routes
               if route.need.privileged for model in route.payloads
               for payload in forged_payloads(model, real, now)]
    before = _regional_rows(await snapshot(app, real["learned"]))
    cases = 0
    for route, forged in [*buttons, *typed_commands(app)]:
        if isinstance(forged, Payload):
            shown_as = " ".join(f"{k}={v}" for k, v in forged.dump().items() if k != "cmd")
            await municipal.press_payload(forged.dump(), label=f"[{forged.cmd} {shown_as}]")
        else:
            await municipal.send(forged)
        await emu.settle()
        got = municipal.pending()
        what = (route.name, forged)
        shown = "\n".join(m.text for m in got)
        assert not [s for s in NSK_SECRETS if s in shown], (*what, shown)
        if route.need.kind == "bot_admin" and isinstance(forged, Payload):
            assert refusals[refusal_of(route, forged)] in shown, (*what, shown)
        after = await snapshot(app, real["learned"])
        assert _regional_rows(after) == before, what
        cases += 1
    files = [data.decode("utf-8", "ignore") for _, data in emu.uploads.values()]
    assert files, "the export and the summaries made files of the own municipality"
    assert not [s for f in files for s in NSK_SECRETS if s in f]
    learned = "\n".join(p.read_text(encoding="utf-8") for p in real["learned"].rglob("*.md"))
    assert not [s for s in NSK_SECRETS if s in learned]
    assert cases > 150


@pytest.mark.parametrize("messenger", ["max"])  # the bot serves VK and MAX at once
async def test_forged_presses_from_max_are_refused_the_same_way(
        bot_inprocess: InProcessBot, users: Any) -> None:
    """The MAX adapter hands events to the same routes: a teacher writing from MAX presses one
    forged button of each privileged model and types each privileged command (its first form):
    refused, nobody's data, nothing changed but their own bookkeeping."""
    app = bot_inprocess.app
    max_emu = bot_inprocess.max_emu
    assert max_emu is not None
    real = await _seed(app)
    now = unix(app.deps.clock)
    texts = app.deps.texts
    refusals = {"screen": texts.render("input.not_allowed").strip(),
                "command": texts.render("admin.refused").strip()}
    teacher = await start_as(users, TEACHER, dsl.TEACHER, "Анна", "Проверкина")
    teacher.pending()
    async with app.deps.db.read() as tx:
        person = await tx.accounts.get_person("max", TEACHER)
    assert person is not None and person != TEACHER  # MAX people have ids of their own
    first_forms: dict[str, tuple[Route, str]] = {}
    for route, word in typed_commands(app):
        first_forms.setdefault(route.name, (route, word))
    cases = [*((route, forged_payloads(model, real, now)[0]) for route in registry().routes
               if route.need.privileged for model in route.payloads), *first_forms.values()]
    for route, forged in cases:
        before = await snapshot(app, real["learned"])
        seen = max_emu.inbox_size(TEACHER)
        if isinstance(forged, Payload):
            await teacher.press_payload(forged.dump())
        else:
            await teacher.send(forged)
        # a fact: the answer came (MAX's updates are not the VK emulator's), then the bot is idle
        assert await max_emu.wait_for_user(TEACHER, lambda: max_emu.inbox_size(TEACHER) > seen,
                                           10), (route.name, forged)
        await bot_inprocess.emu.settle()
        shown = "\n".join(m.text for m in teacher.pending())
        assert not [s for s in SECRETS if s in shown], (route.name, forged, shown)
        if isinstance(forged, Payload) or route.need.refusal is not None:
            assert refusals[refusal_of(route, forged)] in shown, (route.name, forged, shown)
        question = not isinstance(forged, Payload) and route.need.refusal is None
        changes = _changes(before, await snapshot(app, real["learned"]), person, question)
        assert not changes, (route.name, forged, changes)
    assert len(cases) > 50


# -- defence in depth: the services by themselves -----------------------------------------------


async def test_each_service_refuses_a_teacher_by_itself(bot_inprocess: InProcessBot) -> None:
    """Called directly with a teacher's Conversation (no route, no ``need``), every marked
    service raises NotAllowed before it reads anything; the database stays as it was."""
    from core.admin import service as admin
    from core.broadcasts import service as broadcasts
    from core.activation import queue as coordination
    from core.faq import dialog, learning
    from core.status import service as status
    from core.tickets import service as tickets

    app = bot_inprocess.app
    real = await _seed(app)
    def call(fn: Callable[..., Any], *args: Any) -> tuple[Callable[..., Any], Any]:
        return fn, lambda conv: fn(conv, *args)

    later = unix(app.deps.clock) + 86400
    # each marked service, called as a route would call it (ids of real rows)
    calls = [
        call(coordination.panel), call(coordination.applications),
        call(coordination.set_status, 1, "created"), call(coordination.set_status, 1, "rejected"),
        call(coordination.cancel_reject), call(coordination.reject_reason, "дубль"),
        call(coordination.export), call(coordination.mark_sent, 2), call(coordination.stuck),
        call(admin.summary, ""), call(admin.summary, "г. Новосибирск csv"),
        call(admin.summary_view, admin.SummaryView(m=1)),
        call(admin.summary_places, admin.SummaryPlaces()),
        call(admin.summary_file, admin.SummaryFile(w="2026-W47", m=1, f="csv")),
        call(admin.funnel, ""), call(admin.funnel_chart, admin.FunnelChart(m=1)),
        call(admin.audit_log), call(admin.grant, str(TEACHER)),
        call(admin.revoke, str(MUNICIPAL_COORDINATOR)),
        call(broadcasts.start), call(broadcasts.pick_messenger, "max"), call(broadcasts.pick_kind, "all"),
        call(broadcasts.pick_value, "staff"), call(broadcasts.difficulty_page, 1),
        call(broadcasts.edit_text), call(broadcasts.send_now), call(broadcasts.later),
        call(broadcasts.send_at, later), call(broadcasts.quit_draft), call(broadcasts.typed, ()),
        call(broadcasts.cancel, 1), call(broadcasts.cancel_typed, "1"), call(broadcasts.history),
        call(tickets.list_open), call(tickets.start_answer, 1), call(tickets.answered, "ответ"),
        call(dialog.top_misses), call(dialog.reload),
        call(learning.choose, 2), call(learning.add_phrasing, 2, real["entry"]),
        call(learning.add_draft, 2), call(learning.list_drafts),
        call(learning.publish, real["draft"]), call(learning.reject, real["draft"]),
        call(status.status),
    ]
    # every marked service is called here: a new one must be added to this test
    called = {f"{fn.__module__}.{fn.__qualname__}" for fn, _ in calls}
    assert called == set(marked_services()), called ^ set(marked_services())
    # a teacher in each state a coordinator's dialog could have left them in
    states = [("menu", {}), ("coord:reject", {"app": 1}), ("ticket:answer", {"ticket": 1}),
              ("broadcast:confirm", {"id": 2})]
    before = await snapshot(app, real["learned"])
    for state, data in states:
        for fn, run in calls:
            conv = await _conversation(app, TEACHER, Access(TEACHER), state, data)
            with pytest.raises(NotAllowed):
                result = run(conv)
                if inspect.isawaitable(result):
                    await result
                pytest.fail(f"{fn.__qualname__} in {state} answered a teacher")
            assert not conv.sent, fn.__qualname__
    after = await snapshot(app, real["learned"])
    changes = _changes(before, after, TEACHER)
    # the teacher's own state was set by this test, not by a service
    assert set(changes) <= {"users"}, changes
    assert all(row[0] == TEACHER for row in changes.get("users", [])), changes
    # A municipal coordinator may not do what only bot admins do.
    async with app.deps.db.read() as tx:
        grant = await tx.territory.get_grant(MUNICIPAL_COORDINATOR)
    municipal = Access(MUNICIPAL_COORDINATOR, scope=Scope.of_grant(grant.municipality_id))
    for fn, run in calls:
        if rights_of(fn) == "bot_admin":
            conv = await _conversation(app, MUNICIPAL_COORDINATOR, municipal)
            with pytest.raises(NotAllowed):
                await run(conv)
    assert not _changes(after, await snapshot(app, real["learned"]), MUNICIPAL_COORDINATOR) \
        .keys() - {"users"}
