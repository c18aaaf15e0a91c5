"""Where personal data lives: every table and column that holds a person's data or free text.

One registry, used by both «Мои данные» (what is shown is everything stored about the person:
``PersonalDataRepo.list_stored``) and erasure (``PersonalDataRepo.delete_person``), so the two
cannot drift apart. tests/test_security_privacy.py fails when a table gets a column that names
a person (``vk_id``, ``*_vk_id``, ``peer_id``, ``actor_id``, ``answered_by``…) or a new text
column that is not classified here.

What erasure does with each place (``erase``):
- "delete": the rows go;
- "blank": the rows stay (counts, an organisation's progress, broadcast reports) and ``blank``
  (SQL assignments) empties what described the person;
- "keep": kept on purpose, with the reason in ``why`` (proof of consent; what a coordinator did
  in their official role). «Мои данные» still shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Erase = Literal["delete", "blank", "keep"]


@dataclass(frozen=True)
class Place:
    table: str
    person: str                  # the column that names the person
    columns: tuple[str, ...]     # what is stored about them there (shown in «Мои данные»)
    erase: Erase
    blank: str = ""              # "blank": the SQL assignments that empty the rows
    why: str = ""                # "keep": why it is kept
    order: str = "rowid"
    # Data reached through a join (the outbox keeps each text once, in outbox_texts): the
    # SELECT that shows it (``?`` = the person), the statements that erase it (``:vk``,
    # ``:now``), and the (table, column) pairs it covers.
    select: str = ""
    erase_sql: tuple[str, ...] = ()
    joined: tuple[tuple[str, str], ...] = ()

    @property
    def label_key(self) -> str:  # the catalog key of its name in «Мои данные»
        return f"pd.places.{self.table}_{self.person}"

    def statements(self) -> tuple[str, ...]:
        """What erasure runs for this place (named parameters :vk and :now)."""
        if self.erase_sql:
            return self.erase_sql
        if self.erase == "delete":
            return (f"DELETE FROM {self.table} WHERE {self.person} = :vk",)
        if self.erase == "blank":
            return (f"UPDATE {self.table} SET {self.blank} WHERE {self.person} = :vk",)
        return ()

    def shown(self) -> str:
        """The SELECT «Мои данные» shows (``?`` = the person)."""
        return self.select or (f"SELECT {', '.join(self.columns)} FROM {self.table}"
                               f" WHERE {self.person} = ? ORDER BY {self.order} DESC")


PLACES: tuple[Place, ...] = (
    Place("users", "vk_id",
          ("first_name", "last_name", "sex", "role", "ref", "ref_source", "state", "state_data"),
          "blank",
          "first_name = '', last_name = '', sex = NULL, role = NULL, state = '', state_data = '{}',"
          " org_id = NULL, ref = NULL, ref_source = NULL, erased_at = :now, updated_at = :now"),
    Place("applications", "applicant_vk_id",
          ("id", "admin_full_name", "admin_phone", "admin_email", "reject_reason"),
          "blank",
          "admin_full_name = '', admin_phone = '', admin_email = NULL, reject_reason = NULL,"
          " applicant_vk_id = 0, erased_at = :now, updated_at = :now"),
    Place("application_drafts", "vk_id", ("data",), "delete"),
    Place("organisations", "admin_vk_id", ("id", "name"), "blank", "admin_vk_id = NULL"),
    Place("staff", "vk_id", ("org_id", "joined_at", "confirmed_at", "app_at", "chat_at"),
          "delete"),
    Place("tickets", "vk_id", ("id", "question", "answer"), "blank",
          "question = '', answer = CASE WHEN answer IS NULL THEN NULL ELSE '' END"),
    Place("faq_misses", "vk_id", ("question",), "delete"),
    Place("survey_answers", "vk_id", ("week", "other_text", "comment"), "blank",
          "vk_id = NULL, other_text = NULL, comment = NULL, question = NULL"),
    # Messages sent or waiting for the person: what waits is cancelled first (through the
    # outbox repository, which keeps the job counters), then each text only they were sent
    # (a personalised one) is emptied; a text shared with others says nothing about them.
    Place("outbox", "peer_id", ("text",), "blank",
          select="SELECT t.text AS text FROM outbox o JOIN outbox_texts t ON t.id = o.text_id"
                 " WHERE o.peer_id = ? AND o.part = 0 ORDER BY o.id DESC",
          erase_sql=("UPDATE outbox_texts SET text = '', keyboard = NULL"
                     " WHERE id IN (SELECT text_id FROM outbox WHERE peer_id = :vk)"
                     " AND id NOT IN (SELECT text_id FROM outbox WHERE peer_id != :vk)",),
          joined=(("outbox_texts", "text"),)),
    Place("schedule_runs", "peer_id", ("job", "period"), "delete"),
    # Notices that wait until the person writes to the community (bot/vk/sender.py).
    Place("held_notices", "peer_id", ("text",), "delete"),
    Place("held_notices", "about_vk_id", ("text",), "delete"),
    Place("code_attempts", "vk_id", ("failures", "blocked_until"), "delete"),
    Place("staff_digest", "staff_vk_id", ("admin_vk_id", "confirmed_at"), "delete"),
    Place("staff_digest", "admin_vk_id", ("staff_vk_id", "confirmed_at"), "delete"),
    Place("admin_digests", "admin_vk_id", ("last_sent_at",), "delete"),
    # Which messenger the person writes from and their id there (MAX people's internal id is
    # negative, storage/accounts.py): the link goes; writing again makes a new link.
    Place("accounts", "person_id", ("messenger", "external_id"), "delete"),
    # The menu buttons a MAX person's messages carry (bot/max/sender.py): labels, no data.
    Place("max_menus", "person_id", ("keyboard",), "delete"),
    Place("consents", "vk_id", ("version", "given_at", "withdrawn_at"), "keep",
          why="proof of what was agreed to and when; marked withdrawn"),
    Place("coordinator_grants", "vk_id", ("municipality_id", "granted_at"), "keep",
          why="a coordinator's rights are an act of the education body, revoked by a bot admin"),
    Place("broadcasts", "author_vk_id", ("id", "text", "status"), "keep",
          why="a coordinator's official broadcast: who sent what to whom is accountable"),
    Place("audit_log", "actor_id", ("action", "at"), "keep",
          why="the log of coordinators' official actions (ids only, no names or texts)"),
)

# Columns that name a person only as the one who acted in an official role (a coordinator who
# answered, granted, cancelled), or the status message a coordinator was sent: ids, no data.
ACTING_IDS: frozenset[tuple[str, str]] = frozenset({
    ("tickets", "answered_by"), ("coordinator_grants", "granted_by"),
    ("broadcasts", "cancelled_by"), ("broadcasts", "status_peer_id"),
})

# Text columns that hold nothing about a person (checked by the registry test).
NOT_PERSONAL_TEXT: frozenset[tuple[str, str]] = frozenset({
    ("municipalities", "name"), ("municipalities", "timezone"),
    ("organisations", "kind"), ("organisations", "invite_code"),
    ("organisations", "structure"), ("organisations", "registration_link"),
    ("organisations", "staff_deadline"), ("organisations", "name_key"),
    ("processed_events", "event_id"), ("audit_log", "details"),
    ("outbox_jobs", "name"), ("outbox_texts", "key"), ("outbox_texts", "kind"),
    ("outbox_texts", "keyboard"), ("outbox_texts", "attachments"), ("outbox_texts", "template"),
    ("held_notices", "key"), ("held_notices", "kind"), ("held_notices", "keyboard"),
    ("held_notices", "attachments"), ("held_notices", "template"),
    ("outbox", "status"), ("outbox", "error"),
    ("tickets", "source"), ("tickets", "status"), ("faq_misses", "normalized"),
    ("applications", "status"),
    ("survey_answers", "week"), ("survey_answers", "role"), ("survey_answers", "difficulties"),
    ("survey_answers", "messages"), ("survey_answers", "question"),
    ("schedule_runs", "job"), ("schedule_runs", "period"),
    ("broadcasts", "audience"), ("broadcasts", "attachments"), ("broadcasts", "status"),
    ("broadcasts", "job"), ("broadcasts", "cancel_reason"),
    ("consents", "version"), ("transport_state", "name"), ("schema_migrations", "name"), ("schema_migrations", "applied_at"),
})


def places_of(table: str) -> list[Place]:
    return [p for p in PLACES if p.table == table]
