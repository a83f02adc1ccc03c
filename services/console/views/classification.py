"""The reclassify chooser: the classification tree the gateway offers (``GET /classification``) as one choice per
node, topic → ticket type → subtopic, so an agent picks a node the desk has instead of typing ids.

A choice's value is the node's parts as a query string, so any id survives the round trip and a posted value maps
back to the ledger's fields without a lookup; the gateway still judges what reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

PARTS = ("topic", "type", "subtopic")
LEDGER_URGENCIES = ("normal", "urgent")  # what the ledger records without any rule


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool = False


@dataclass(frozen=True)
class Group:
    label: str
    options: tuple[Option, ...]


def _name(names: Mapping[str, str] | None, fallback: str, lang: str) -> str:
    names = names or {}
    return names.get(lang) or next((v for v in names.values() if v), "") or fallback


def _node(**parts: str) -> dict[str, str]:
    return {k: parts[k] for k in PARTS if parts.get(k)}


def node_options(tree: Mapping[str, Any] | None, current: Mapping[str, Any] | None, lang: str,
                 type_label: Callable[[str], str]) -> list[Group]:
    """One group per topic; the ticket's own node chosen, and offered first when the tree no longer has it."""
    here = _node(**{k: str(v) for k, v in (current or {}).items() if k in PARTS and v})
    groups, found = [], False
    for topic in (tree or {}).get("topics", []):
        name = _name(topic.get("name"), str(topic["id"]), lang)
        nodes = [(_node(topic=topic["id"]), name)]
        for kind in topic.get("types", []):
            kind_name = f"{name} › {type_label(str(kind['type']))}"
            nodes.append((_node(topic=topic["id"], type=kind["type"]), kind_name))
            nodes += [(_node(topic=topic["id"], type=kind["type"], subtopic=sub["id"]),
                       f"{kind_name} › {_name(sub.get('name'), str(sub['id']), lang)}")
                      for sub in kind.get("subtopics", [])]
        found = found or any(node == here for node, _ in nodes)
        groups.append(Group(name, tuple(Option(urlencode(node), label, node == here) for node, label in nodes)))
    if here and not found:
        groups.insert(0, Group(" › ".join(here.values()), (Option(urlencode(here), " › ".join(here.values()),
                                                                  True),)))
    return groups


def chosen_node(form: Mapping[str, Any]) -> dict[str, str] | None:
    """The posted ``node`` as the classification's parts; None when it is not one value per part we offer."""
    value = form.get("node")
    if not isinstance(value, str) or not value:
        return None
    parsed = parse_qs(value, keep_blank_values=False)
    if any(len(parsed.get(k, [])) > 1 for k in PARTS) or not parsed.get("topic"):
        return None
    return {k: parsed[k][0] for k in PARTS if parsed.get(k)}


def classify_form(form: Mapping[str, Any]) -> Mapping[str, Any]:
    """The reclassify form as the ticket forms read it: the chosen node's parts in place of typed ones."""
    node = chosen_node(form)
    if node is None:
        return form
    return {**{k: v for k, v in form.items() if k not in PARTS}, **node}


def urgency_choices(tree: Mapping[str, Any] | None, current: str | None) -> list[str]:
    return sorted({*(tree or {}).get("urgencies", []), *LEDGER_URGENCIES, *([current] if current else [])})
