"""The repositories every transaction carries: ``tx.users``, ``tx.territory``, ...

A feature that adds a table adds its repository here, so handlers and services reach all SQL
through one ``Tx`` object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from storage.accounts import AccountsRepo
from storage.activation import ActivationRepo
from storage.broadcasts import BroadcastsRepo
from storage.bulk import BulkRepo
from storage.events import AuditRepo, EventsRepo
from storage.held import HeldNoticesRepo
from storage.limits import LimitsRepo
from storage.outbox import OutboxRepo
from storage.personal import PersonalDataRepo
from storage.schedule import ScheduleRepo
from storage.summaries import SummariesRepo
from storage.surveys import SurveysRepo
from storage.territory import TerritoryRepo
from storage.tickets import TicketsRepo
from storage.users import UsersRepo

if TYPE_CHECKING:
    from storage.db import Tx

class Repositories:
    """Mixed into ``storage.db.Tx``: each repository bound to the transaction (or read) it runs
    in, with its type, so ``tx.users.get_user(...)`` is checked like any other call."""

    def _bind_repositories(self) -> None:
        tx = cast("Tx", self)
        self.users = UsersRepo(tx)
        self.territory = TerritoryRepo(tx)
        self.events = EventsRepo(tx)
        self.audit = AuditRepo(tx)
        self.outbox = OutboxRepo(tx)
        self.broadcasts = BroadcastsRepo(tx)
        self.summaries = SummariesRepo(tx)
        self.tickets = TicketsRepo(tx)
        self.activation = ActivationRepo(tx)
        self.personal = PersonalDataRepo(tx)
        self.schedule = ScheduleRepo(tx)
        self.surveys = SurveysRepo(tx)
        self.bulk = BulkRepo(tx)
        self.limits = LimitsRepo(tx)
        self.held = HeldNoticesRepo(tx)
        self.accounts = AccountsRepo(tx)
