"""The repositories every transaction carries: ``tx.users``, ``tx.territory``, ...

A feature that adds a table adds its repository here, so handlers and services reach all SQL
through one ``Tx`` object.
"""

from __future__ import annotations

from typing import Any

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

REPOSITORIES: dict[str, type] = {
    "users": UsersRepo,
    "territory": TerritoryRepo,
    "events": EventsRepo,
    "audit": AuditRepo,
    "outbox": OutboxRepo,
    "broadcasts": BroadcastsRepo,
    "summaries": SummariesRepo,
    "tickets": TicketsRepo,
    "activation": ActivationRepo,
    "personal": PersonalDataRepo,
    "schedule": ScheduleRepo,
    "surveys": SurveysRepo,
    "bulk": BulkRepo,
    "limits": LimitsRepo,
    "held": HeldNoticesRepo,
}


def bind_repositories(tx: Any) -> None:
    for name, repo in REPOSITORIES.items():
        setattr(tx, name, repo(tx))
