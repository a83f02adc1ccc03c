"""What the in-process desk can run: each service's settings class and app factory, and where a directory
entry of a given type is stored (every directory module registers its directories on import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

import shared.directory.classification
import shared.directory.contacts
import shared.directory.notify
import shared.directory.routing
import shared.directory.sla  # noqa: F401  (registers its directories)
from services.feedback.app import create_app as feedback_app
from services.feedback.settings import FeedbackSettings
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.knowledge.app import create_app as knowledge_app
from services.knowledge.settings import KnowledgeSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.routing.app import create_app as routing_app
from services.routing.settings import RoutingSettings
from services.sla.app import create_app as sla_app
from services.sla.settings import SlaSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.directory import DIRECTORIES, Directory

APPS: dict[str, tuple[type[Any], Callable[[Any, Any], FastAPI]]] = {
    "tickets": (TicketsSettings, tickets_app), "intake": (IntakeSettings, intake_app),
    "routing": (RoutingSettings, routing_app), "sla": (SlaSettings, sla_app),
    "notify": (NotifySettings, notify_app), "feedback": (FeedbackSettings, feedback_app),
    "gateway": (GatewaySettings, gateway_app), "knowledge": (KnowledgeSettings, knowledge_app),
}


def directory_of(item: BaseModel) -> Directory[Any]:
    for directory in DIRECTORIES.values():
        if directory.model is type(item):
            return directory
    raise KeyError(f"no directory holds {type(item).__name__}")
