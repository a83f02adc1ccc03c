"""The demo desk's directories, as the gateway's directory API accepts them (``PUT /admin/directories/<name>/<key>``).

Two service teams (A: corporate clients, B: retail) share lines 1–3 and the commercial line; the development line
serves everyone. The pilot client's SLA is deliberately tight (1 minute to first response, 24x7) and its ladder
fast, so breaches and long-ignored tickets appear minutes after ``frontline demo`` runs.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
ALL_WEEK = range(7)


def _names(ru: str, en: str) -> dict[str, str]:
    return {"ru": ru, "en": en}


# The line fields client_choices / escalates_to: drop them here for a lines directory that does not know them.
# Listed so that a line's escalation target is written before the line itself.
LINES: list[Doc] = [
    {"id": "third", "name": _names("Третья линия", "Third line"), "order": 3, "client_choices": [],
     "escalates_to": None},
    {"id": "second", "name": _names("Вторая линия", "Second line"), "order": 2,
     "client_choices": ["technical"], "escalates_to": "third"},
    {"id": "first", "name": _names("Первая линия", "First line"), "order": 1,
     "client_choices": ["plain"], "escalates_to": "second"},
    {"id": "commercial", "name": _names("Коммерческий отдел", "Commercial"), "order": 4,
     "client_choices": ["not_technical"], "escalates_to": None},
    {"id": "development", "name": _names("Разработка", "Development"), "order": 5, "client_choices": [],
     "escalates_to": None},
]
GROUPS: list[Doc] = [
    {"id": "first-general", "line_id": "first", "name": _names("Общие вопросы", "General"), "lead_ids": ["lena"]},
    {"id": "second-network", "line_id": "second", "name": _names("Сетевые инженеры", "Network engineers"),
     "lead_ids": ["lena"]},
    {"id": "third-core", "line_id": "third", "name": _names("Ядро сети", "Core network"), "lead_ids": ["oleg"]},
    {"id": "commercial-sales", "line_id": "commercial", "name": _names("Продажи", "Sales"), "lead_ids": ["oleg"]},
    {"id": "development-core", "line_id": "development", "name": _names("Разработка", "Development")},
]


def _agent(id: str, name: str, lines: list[str], teams: list[str], roles: tuple[str, ...] = ("specialist",),
           **extra: Any) -> Doc:
    groups = [g["id"] for g in GROUPS if g["line_id"] in lines]
    return {"id": id, "name": name, "email": f"{id}@desk.example", "roles": list(roles), "line_ids": lines,
            "group_ids": groups, "team_ids": teams, "skills": ["internet"], "language": extra.pop("language", "ru"),
            "timezone": "Europe/Moscow", **extra}


# Day agents have no shifts (always on, so the demo routes the same at any hour); Nikolai works nights, Irina
# office hours. Team B's first line is Pavel alone: when he is away, its tickets show as lost.
AGENTS: list[Doc] = [
    _agent("anna", "Анна Смирнова", ["first"], ["A"], language="en"),
    _agent("boris", "Борис Орлов", ["second"], ["A"]),
    _agent("nikolai", "Николай Ночной", ["first", "second"], ["A"],
           shifts=[{"weekday": d, "start": "22:00", "end": "06:00"} for d in ALL_WEEK]),
    _agent("lena", "Елена Ведущая", ["first", "second", "third"], ["A"], ("team_lead",), language="en"),
    _agent("pavel", "Павел Первый", ["first"], ["B"]),
    _agent("vera", "Вера Вторая", ["second"], ["B"], language="en"),
    _agent("oleg", "Олег Ведущий", ["second", "third", "commercial"], ["B"], ("team_lead",)),
    _agent("timur", "Тимур Третий", ["third"], ["A", "B"]),
    _agent("sergey", "Сергей Продажи", ["commercial"], ["A", "B"]),
    _agent("irina", "Ирина Продажи", ["commercial"], ["B"],
           shifts=[{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)]),
    _agent("dmitry", "Дмитрий Разработчик", ["development"], [], language="en"),
    _agent("olga", "Ольга Руководитель", [], [], ("head_of_service",)),
]


def _team(id: str, name: str, lead: str, night: tuple[str, ...] = ()) -> Doc:
    members = [{"agent_id": a["id"], "service_types": ["internet"], "night_shift": a["id"] in night,
                "role": "team_lead" if a["id"] == lead else "specialist"} for a in AGENTS if id in a["team_ids"]]
    return {"id": id, "name": name, "members": members}


TEAMS: list[Doc] = [_team("A", "Команда A — корпоративные клиенты", "lena", night=("nikolai",)),
                    _team("B", "Команда B — розница", "oleg")]
CATEGORIES: list[Doc] = [
    {"id": "premium", "name": _names("Премиум", "Premium"), "rank": 30},
    {"id": "business", "name": _names("Бизнес", "Business"), "rank": 20},
    {"id": "standard", "name": _names("Стандарт", "Standard"), "rank": 10},
    {"id": "pilot", "name": _names("Пилот (демо: SLA 1 минута)", "Pilot (demo: 1-minute SLA)"), "rank": 5},
]
# client id → (name, category, team, contract, e-mail domain, contact count): one contact per demo ticket, since
# a contact has one open ticket at a time (intake's rule).
CLIENTS: dict[str, tuple[str, str, str | None, str, str, int]] = {
    "vector": ("ООО «Вектор Тур»", "premium", "A", "VT-2026-001", "vector.example", 10),
    "globex": ("Globex Retail", "business", "B", "GR-2026-014", "globex.example", 9),
    "umbrella": ("Umbrella Logistics", "pilot", None, "UL-2026-007", "umbrella.example", 4),
}


def contact_email(client: str, n: int) -> str:
    return f"contact{n}@{CLIENTS[client][4]}"


def contact_phone(client: str, n: int) -> str:
    return f"+7495{201 + list(CLIENTS).index(client)}{n:04d}"


def directories() -> dict[str, list[Doc]]:
    """Every directory entry, in an order where each entry's references already exist."""
    from tools.demo.policies import CALENDARS, CLASSIFICATION, LADDERS, POLICIES, TEMPLATES, URGENCY

    clients = [{"id": cid, "name": c[0], "category": c[1], "service_team_id": c[2]} for cid, c in CLIENTS.items()]
    contracts = [{"number": c[3], "client_id": cid, "product": "internet"} for cid, c in CLIENTS.items()]
    contacts = [{"id": f"{cid}-{n}", "client_id": cid, "name": f"{c[0]} #{n}", "emails": [contact_email(cid, n)],
                 "phones": [contact_phone(cid, n)], "chat_ids": [f"tg:{cid}-{n}"], "contract_number": c[3]}
                for cid, c in CLIENTS.items() for n in range(1, c[5] + 1)]
    return {"lines": LINES, "groups": GROUPS, "agents": AGENTS, "teams": TEAMS, "client-categories": CATEGORIES,
            "clients": clients, "contracts": contracts, "contacts": contacts, "business-calendars": CALENDARS,
            "escalation-ladders": LADDERS, "sla-policies": POLICIES, "classification-topics": CLASSIFICATION,
            "urgency-rules": URGENCY, "templates": TEMPLATES}
