"""Who sees and who writes which macro.

A personal macro is its owner's alone: nobody else sees it, administrators included (it is his wording, not the
desk's). A shared one is written by administrators and offered to staff, narrowed to the lines and teams it names.
Clients use no macro (the router refuses them before any of this).
"""

from __future__ import annotations

from ..access.principal import Principal
from .model import Macro, MacroIn


def may_see(p: Principal, m: Macro) -> bool:
    if m.scope == "personal":
        return m.owner_id == p.user_id
    if p.is_admin:
        return True
    if m.line_ids and not set(m.line_ids) & set(p.line_ids):
        return False
    return not m.team_ids or bool(set(m.team_ids) & set(p.team_ids))


def may_write(p: Principal, m: MacroIn, owner_id: str | None) -> bool:
    """``owner_id``: the stored macro's owner (None for a new one or a shared one)."""
    if m.scope == "shared":
        return p.is_admin
    return owner_id is None or owner_id == p.user_id
