"""A local server speaking the subset of OpenSearch's REST API the search service's adapter uses.

A protocol stand-in, not a search engine: it keeps documents in memory and answers ``_search`` by plain
substring matching of the query's words over the fields the query names, then applies the ``bool.filter``
clauses (``terms``, ``range``, nested ``bool``, ``match_all``/``match_none``) the adapter sends, so a test sees
that scoping filters are both sent and honoured. What it checks the way OpenSearch does: basic auth (401 with
a ``security_exception``), ``dynamic: strict`` mappings (a bulk item with an unmapped field fails), a second
index create (400), a missing index (404), NDJSON bulk bodies. A test can make the next calls fail with a status.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class OpenSearchStandIn:
    username: str | None = None
    password: str | None = None
    indices: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"mapping": ..., "docs": {...}}
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every authorised call
    searches: list[dict[str, Any]] = field(default_factory=list)  # the bodies _search received
    refused: int = 0  # calls turned away for missing or wrong credentials
    failures: dict[str, list[int]] = field(default_factory=dict)  # endpoint ("_search", "_bulk", ...) -> statuses

    def fail(self, endpoint: str, *statuses: int) -> None:
        """The next calls to ``endpoint`` answer these statuses, one each, in order."""
        self.failures.setdefault(endpoint, []).extend(statuses)

    def docs(self, index: str) -> dict[str, dict[str, Any]]:
        docs: dict[str, dict[str, Any]] = self.indices[index]["docs"]
        return docs


def error(status: int, kind: str, reason: str) -> JSONResponse:
    cause = {"type": kind, "reason": reason}
    return JSONResponse({"error": {"root_cause": [cause], **cause}, "status": status}, status_code=status)


def _words(clause: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(word, fields) of every multi_match, and (prefix, [field]) of every prefix clause, anywhere in ``clause``."""
    found: list[tuple[str, list[str]]] = []
    if isinstance(clause, dict):
        for key, value in clause.items():
            if key == "multi_match":
                found.append((value["query"].lower(), [f.split("^")[0] for f in value["fields"]]))
            elif key == "prefix":
                ((name, spec),) = value.items()
                found.append(("prefix:" + str(spec["value"] if isinstance(spec, dict) else spec).lower(), [name]))
            else:
                found += _words(value)
    elif isinstance(clause, list):
        for item in clause:
            found += _words(item)
    return found


def _word_matches(word_clause: dict[str, Any], doc: dict[str, Any]) -> bool:
    """One word's ``bool.should``: any of its multi_match or prefix alternatives matches the document."""
    def values_of(name: str) -> list[Any]:
        value = doc.get(name)
        return value if isinstance(value, list) else [value or ""]

    for word, fields in _words(word_clause):
        values = [str(v).lower() for f in fields for v in values_of(f)]
        if word.startswith("prefix:"):
            if any(v.startswith(word.removeprefix("prefix:")) for v in values):
                return True
        elif any(word in v for v in values):
            return True
    return False


def _filter_matches(clause: dict[str, Any], doc: dict[str, Any]) -> bool:
    ((kind, spec),) = clause.items()
    match kind:
        case "match_all":
            return True
        case "match_none":
            return False
        case "terms":
            ((name, values),) = spec.items()
            have = doc.get(name)
            have = set(have) if isinstance(have, list) else {have}
            return bool(have & set(values))
        case "range":
            ((name, bounds),) = spec.items()
            value = str(doc.get(name))  # ISO-8601 in UTC compares as text
            return all(value >= b if op == "gte" else value <= b for op, b in bounds.items())
        case "bool":
            if not all(_filter_matches(c, doc) for c in spec.get("filter", [])):
                return False
            should = spec.get("should", [])
            return not should or sum(_filter_matches(c, doc) for c in should) >= spec.get("minimum_should_match", 1)
    raise ValueError(f"the stand-in does not know the query clause {kind!r}")


def _highlight(doc: dict[str, Any], words: list[str], fields: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in fields:
        text = str(doc.get(name) or "")
        at = next((text.lower().find(w) for w in words if w in text.lower()), -1)
        if at >= 0:
            word = next(w for w in words if text.lower().find(w) == at)
            end = at + len(word)  # escaped around the mark, as OpenSearch's html encoder does
            out[name] = [f"{html.escape(text[:at])}<mark>{html.escape(text[at:end])}</mark>{html.escape(text[end:])}"]
    return out


def opensearch_app(s: OpenSearchStandIn) -> Starlette:
    def authorised(request: Request) -> bool:
        if s.username is None:
            return True
        expected = "Basic " + base64.b64encode(f"{s.username}:{s.password}".encode()).decode()
        return request.headers.get("authorization") == expected

    async def dispatch(request: Request) -> Response:
        if not authorised(request):
            s.refused += 1
            resp = error(401, "security_exception", "Authentication finally failed")
            resp.headers["WWW-Authenticate"] = 'Basic realm="OpenSearch Security"'
            return resp
        path = request.url.path.strip("/")
        s.requests.append((request.method, path))
        parts = path.split("/")
        endpoint = next((p for p in parts if p.startswith("_")), "index")
        if s.failures.get(endpoint):
            status = s.failures[endpoint].pop(0)
            return error(status, "cluster_block_exception" if status >= 500 else "illegal_argument_exception",
                         f"the stand-in was told to answer {status}")
        if endpoint == "_bulk":
            return await bulk(request)
        index = parts[0]
        if endpoint == "index":
            return await index_call(request, index)
        if index not in s.indices:
            return error(404, "index_not_found_exception", f"no such index [{index}]")
        docs = s.docs(index)
        if endpoint == "_count":
            return JSONResponse({"count": len(docs), "_shards": {"total": 1, "successful": 1, "failed": 0}})
        if endpoint == "_delete_by_query":
            deleted = len(docs)
            docs.clear()
            return JSONResponse({"deleted": deleted, "total": deleted, "failures": []})
        if endpoint == "_search":
            return search(await request.json(), docs)
        return error(400, "illegal_argument_exception", f"the stand-in does not serve {request.method} /{path}")

    async def index_call(request: Request, index: str) -> Response:
        if request.method == "HEAD":
            return Response(status_code=200 if index in s.indices else 404)
        if request.method == "PUT":
            if index in s.indices:
                return error(400, "resource_already_exists_exception", f"index [{index}] already exists")
            body = await request.json()
            s.indices[index] = {"mapping": body["mappings"], "settings": body.get("settings", {}), "docs": {}}
            return JSONResponse({"acknowledged": True, "shards_acknowledged": True, "index": index})
        return error(405, "illegal_argument_exception", f"{request.method} /{index} is not served here")

    async def bulk(request: Request) -> Response:
        lines = [json.loads(line) for line in (await request.body()).decode().splitlines() if line.strip()]
        items, errors, i = [], False, 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            index, doc_id = meta["_index"], meta["_id"]
            if index not in s.indices:
                return error(404, "index_not_found_exception", f"no such index [{index}]")
            docs, mapping = s.docs(index), s.indices[index]["mapping"]
            if op == "index":
                source, i = lines[i + 1], i + 2
                unmapped = set(source) - set(mapping["properties"])
                if unmapped and mapping.get("dynamic") == "strict":
                    errors = True
                    items.append({op: {"_index": index, "_id": doc_id, "status": 400, "error": {
                        "type": "strict_dynamic_mapping_exception",
                        "reason": f"mapping set to strict, dynamic introduction of {sorted(unmapped)} not allowed"}}})
                    continue
                result = "updated" if doc_id in docs else "created"
                docs[doc_id] = source
                items.append({op: {"_index": index, "_id": doc_id, "status": 201 if result == "created" else 200,
                                   "result": result}})
            elif op == "delete":
                i += 1
                found = docs.pop(doc_id, None) is not None
                items.append({op: {"_index": index, "_id": doc_id, "status": 200 if found else 404,
                                   "result": "deleted" if found else "not_found"}})
            else:
                return error(400, "illegal_argument_exception", f"bulk action {op!r} is not served here")
        return JSONResponse({"took": 1, "errors": errors, "items": items})

    def search(body: dict[str, Any], docs: dict[str, dict[str, Any]]) -> Response:
        s.searches.append(body)
        query = body["query"]["bool"]
        hits = [(doc_id, doc) for doc_id, doc in docs.items()
                if all(_word_matches(w, doc) for w in query.get("must", []))
                and all(_filter_matches(f, doc) for f in query.get("filter", []))]
        words = [w for w, _ in _words(query.get("must", [])) if not w.startswith("prefix:")]
        fields = list(body.get("highlight", {}).get("fields", {}))
        source = body.get("_source")
        return JSONResponse({"took": 1, "timed_out": False, "hits": {
            "total": {"value": len(hits), "relation": "eq"}, "max_score": 1.0 if hits else None,
            "hits": [{"_index": "", "_id": doc_id, "_score": 1.0,
                      "_source": {k: v for k, v in doc.items() if source is None or k in source},
                      "highlight": _highlight(doc, words, fields)} for doc_id, doc in hits[:body.get("size", 10)]]}})

    return Starlette(routes=[Route("/{path:path}", dispatch, methods=["GET", "HEAD", "PUT", "POST", "DELETE"])])
