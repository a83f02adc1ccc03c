"""The architecture on paper is the one in the code: import boundaries and who may touch which collection.

Services talk over Kafka and HTTP only, so no service imports another's code; services and ``shared`` never
import developer tooling (``tools``, not in the image) or tests; ``shared`` imports no service. Every MongoDB
collection is declared once (``shared/contracts/collections.py``) with its owner and its read-only readers, and
a service names a collection only through those constants, each one it imports declared for it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from shared.contracts.collections import COLLECTIONS, Collection
from shared.directory import AUDIT, DIRECTORIES

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def modules(top: str) -> Iterator[tuple[Path, str]]:
    for path in sorted((ROOT / top).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if len(parts) > 1:  # services/__init__.py belongs to no service
            yield path, ".".join(parts)


def imported(path: Path, module: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, names) for every import; relative imports resolved against ``module``."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, name, [a.name for a in node.names]


def crossings(top: str, forbidden: callable) -> list[str]:  # type: ignore[valid-type]
    found = []
    for path, module in modules(top):
        for line, name, _ in imported(path, module):
            why = forbidden(module, name)
            if why:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({why})")
    return found


def test_services_import_no_other_service_and_no_tools_or_tests() -> None:
    def forbidden(module: str, name: str) -> str | None:
        own, top = module.split(".")[1], name.split(".")
        if top[0] == "services" and len(top) > 1 and top[1] != own:
            return f"{own} may not import another service's code"
        return f"{own} may not import developer tooling or tests" if top[0] in ("tools", "tests") else None

    assert crossings("services", forbidden) == []


def test_shared_imports_no_service_tools_or_tests() -> None:
    def forbidden(module: str, name: str) -> str | None:
        return "shared is below every service" if name.split(".")[0] in ("services", "tools", "tests") else None

    assert crossings("shared", forbidden) == []


def test_every_collection_is_declared_once_with_a_known_owner() -> None:
    names = [c.name for c in COLLECTIONS.values()] + [d.collection for d in DIRECTORIES.values()] + [AUDIT]
    assert len(names) == len(set(names)), "a collection declared twice"
    for c in COLLECTIONS.values():
        assert c.owner in SERVICES and set(c.readers) <= set(SERVICES) - {c.owner}, c


def _named_literals(tree: ast.AST, names: set[str]) -> Iterator[tuple[int, str]]:
    """Collection names written as literals where a collection is meant: ``X = "name"``, ``db["name"]``,
    ``{"from": "name"}`` ($lookup) and ``bucket_name="name"``."""
    def literal(node: ast.AST | None) -> str | None:
        return node.value if isinstance(node, ast.Constant) and node.value in names else None  # type: ignore[return-value]

    for node in ast.walk(tree):
        hits: list[ast.AST | None] = []
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
            # "tickets" is a service's name too (a producer, a logger): a constant of that name is a collection
            # only when its own name says so
            service = isinstance(node.value, ast.Constant) and node.value.value in SERVICES
            hits = [node.value] if any(not service or "TICKETS" in n for n in named) else []
        elif isinstance(node, ast.Subscript):
            hits = [node.slice]
        elif isinstance(node, ast.Dict):
            hits = [v for k, v in zip(node.keys, node.values, strict=True) if literal(k) is None
                    and isinstance(k, ast.Constant) and k.value == "from"]
        elif isinstance(node, ast.keyword) and node.arg == "bucket_name":
            hits = [node.value]
        for hit in hits:
            if (value := literal(hit)) is not None:
                yield getattr(hit, "lineno", 0), value


def test_services_name_collections_only_through_the_declarations() -> None:
    names = {c.name for c in COLLECTIONS.values()}
    found = [f"{path.relative_to(ROOT)}:{line} spells {value!r}"
             for top in ("services", "shared") for path, module in modules(top)
             if module != "shared.contracts.collections"
             for line, value in _named_literals(ast.parse(path.read_text(encoding="utf-8")), names)]
    assert found == [], "use the constant from shared/contracts/collections.py"


def test_each_service_touches_only_collections_declared_for_it() -> None:
    declared: dict[str, Collection] = {k: v for k, v in COLLECTIONS.items()}
    found = []
    for path, module in modules("services"):
        own = module.split(".")[1]
        for line, name, names in imported(path, module):
            if name != "shared.contracts.collections":
                continue
            for n in names:
                c = declared.get(n)
                if c is not None and own != c.owner and own not in c.readers:
                    found.append(f"{path.relative_to(ROOT)}:{line} {own} uses {c.name} (owner {c.owner}, "
                                 f"readers {', '.join(c.readers) or 'none'})")
    assert found == []


def test_the_gateway_reads_other_services_data_read_only() -> None:
    """What the gateway reads of others is declared for it; what it owns is its own (gateway_*) collections only."""
    read = {c.name for c in COLLECTIONS.values() if "gateway" in c.readers}
    assert {"tickets", "ledger_commands", "sla_clocks", "feedback_surveys", "notify_deliveries"} <= read
    assert "notify_inbox" not in read, "people's feed goes through notify's API (the read flag is a write)"
    owned = {c.name for c in COLLECTIONS.values() if c.owner == "gateway"}
    assert "gateway_api_keys" in owned and all(n.startswith("gateway_") for n in owned)
