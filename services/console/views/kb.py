"""The knowledge base's view logic in the console: the article and news forms read into the gateway's bodies, the
gateway's refusals put next to their fields, the workflow buttons offered, what "insert into reply" inserts, and the
service catalogue as choices. Pure: the routes only fetch and render. The gateway and the knowledge service decide
everything; this only decides what to offer and how to say it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

LANGS = ("en", "ru")
VISIBILITIES = ("public", "internal", "categories")
AUDIENCES = ("both", "clients", "staff")
# Offered by status; the knowledge service holds the real workflow and refuses a step out of turn in words.
OFFERED = {"draft": ("submit", "archive"), "review": ("publish", "reject", "archive"), "published": ("archive",),
           "archived": ("restore",)}
WRITER_STEPS = frozenset({"submit", "restore"})  # administrators; the rest leads and administrators (the gateway's)
LEADS = frozenset({"team_lead", "administrator"})
WORD = re.compile(r"[^\s,]+")
SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def safe_id(value: str) -> bool:
    return bool(SAFE_ID.match(value)) and ".." not in value


def words(value: str | None) -> list[str]:
    """Tags or ids typed as ``a, b c``: each once, in order."""
    return list(dict.fromkeys(WORD.findall(value or "")))


def _content(form: Mapping[str, str], errors: dict[str, str]) -> dict[str, dict[str, str]]:
    content: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        title, body = (form.get(f"title_{lang}") or "").strip(), (form.get(f"body_{lang}") or "").strip()
        if title:
            content[lang] = {"title": title, "body": body}
        elif body:
            errors[f"title_{lang}"] = "kb.form.title_needed"
    if not content:  # at least one language
        errors.setdefault("title_en", "kb.form.title_needed")
    return content


def article_body(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The editor's fields as the gateway's ``ArticleIn``, and each field's error (a catalogue key)."""
    errors: dict[str, str] = {}
    content = _content(form, errors)
    visibility = form.get("visibility") or "internal"
    if visibility not in VISIBILITIES:
        errors["visibility"] = "kb.form.bad_visibility"
    client_categories = words(form.get("client_categories")) if visibility == "categories" else []
    if visibility == "categories" and not client_categories:
        errors["client_categories"] = "kb.form.categories_needed"
    return {"content": content, "visibility": visibility, "client_categories": client_categories,
            "categories": words(form.get("categories")), "tags": words(form.get("tags"))}, errors


def article_fields(article: Mapping[str, Any]) -> dict[str, str]:
    """An article as the editor's field values."""
    content = article.get("content") or {}
    fields = {f"{part}_{lang}": str((content.get(lang) or {}).get(part) or "") for lang in LANGS
              for part in ("title", "body")}
    return {**fields, "visibility": str(article.get("visibility") or "internal"),
            **{k: ", ".join(str(w) for w in article.get(k) or []) for k in ("client_categories", "categories", "tags")}}


def field_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """The gateway's ``errors[].loc`` as the form's field names (``content.ru.title`` is ``title_ru``)."""
    out: dict[str, str] = {}
    for e in errors:
        loc = [str(p) for p in e.get("loc", []) if p not in ("body", "article", "news")]
        if len(loc) >= 3 and loc[0] == "content":
            out.setdefault(f"{loc[2]}_{loc[1]}", str(e.get("msg", "")))
        elif loc:
            out.setdefault(loc[0], str(e.get("msg", "")))
    return out


def steps(status: str, role: str) -> list[str]:
    if role not in LEADS:
        return []
    return [s for s in OFFERED.get(status, ()) if role == "administrator" or s not in WRITER_STEPS]


def in_lang(variants: Mapping[str, Any] | None, lang: str) -> Any:
    """The variant in ``lang``, else the other one (an article may exist in one language only)."""
    found = variants or {}
    return found.get(lang) or next((found[k] for k in LANGS if found.get(k)), None)


def title(titles: Mapping[str, str] | None, lang: str) -> str:
    return str(in_lang(titles, lang) or "")


def insert_text(article: Mapping[str, Any], mode: str, lang: str, public_url: str) -> str:
    """What goes into the reply: the article's title and its portal address, or its title and Markdown text."""
    text = in_lang(article.get("content"), lang) or {}
    if mode == "text":
        return f"{text.get('title', '')}\n\n{text.get('body', '')}".strip()
    return f"{text.get('title', '')}: {public_url.rstrip('/')}/portal/kb/{article['id']}"


def catalogue_options(tree: Any, lang: str) -> list[tuple[str, str]]:
    """The portal catalogue (services and their sub-services) as ``(value, label)`` choices: ``svc`` or
    ``svc/sub``."""
    items = tree.get("items") if isinstance(tree, dict) else None
    options: list[tuple[str, str]] = []
    for svc in items if isinstance(items, list) else []:
        if not isinstance(svc, dict) or not safe_id(str(svc.get("id", ""))):
            continue
        name = title(svc.get("name"), lang) or str(svc["id"])
        options.append((str(svc["id"]), name))
        for sub in svc.get("sub_services") or []:
            if isinstance(sub, dict) and safe_id(str(sub.get("id", ""))):
                options.append((f"{svc['id']}/{sub['id']}", f"{name} → {title(sub.get('name'), lang) or sub['id']}"))
    return options


def chosen_service(value: str | None) -> dict[str, str]:
    """The picker's value as the portal request's ``service_id`` and ``sub_service_id``."""
    parts = [p for p in (value or "").split("/", 1) if p]
    if not parts or not all(safe_id(p) for p in parts):
        return {}
    return {"service_id": parts[0], **({"sub_service_id": parts[1]} if len(parts) > 1 else {})}


def _instant(value: str | None) -> datetime | None:
    """A ``datetime-local`` field, read as UTC (the form says so)."""
    try:
        at = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def news_body(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The news form as the gateway's ``NewsIn``, and each field's error (a catalogue key)."""
    errors: dict[str, str] = {}
    content = _content(form, errors)
    audience = form.get("audience") or "both"
    if audience not in AUDIENCES:
        errors["audience"] = "news.form.bad_audience"
    publish_at, unpublish_at = _instant(form.get("publish_at")), _instant(form.get("unpublish_at"))
    if publish_at is None:
        errors["publish_at"] = "news.form.bad_date"
    if (form.get("unpublish_at") or "").strip() and unpublish_at is None:
        errors["unpublish_at"] = "news.form.bad_date"
    elif publish_at and unpublish_at and unpublish_at <= publish_at:
        errors["unpublish_at"] = "news.form.window"
    return {"content": content, "audience": audience, "publish_at": publish_at.isoformat() if publish_at else None,
            "unpublish_at": unpublish_at.isoformat() if unpublish_at else None}, errors


def news_fields(item: Mapping[str, Any]) -> dict[str, str]:
    content = item.get("content") or {}
    fields = {f"{part}_{lang}": str((content.get(lang) or {}).get(part) or "") for lang in LANGS
              for part in ("title", "body")}
    return {**fields, "audience": str(item.get("audience") or "both"),
            **{k: str(item.get(k) or "")[:16] for k in ("publish_at", "unpublish_at")}}
