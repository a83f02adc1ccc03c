"""The lines directory's rules: which line serves a client's choice, where a ticket escalates, what may be saved.

Pure and shared: routing places tickets with them, the gateway escalates with them and refuses a directory
write that breaks them, so the rule has one home. See docs/lines.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.directory.routing import Line

# The client's choice → line of desks whose lines name no choice yet (the map routing's settings once held).
LEGACY_CHOICE_LINES: Mapping[str, str] = {"technical": "second", "plain": "first", "not_technical": "commercial"}


def choice_lines(lines: Iterable[Line]) -> dict[str, str]:
    """Each client choice → the line serving it, as the directory says; empty when no line names any.

    Should two lines claim one choice (written around the gateway's check) the first by display order and id
    wins, so routing stays deterministic.
    """
    out: dict[str, str] = {}
    for line in sorted(lines, key=lambda ln: (ln.order, ln.id)):
        for choice in line.client_choices:
            out.setdefault(choice, line.id)
    return out


def line_for_choice(lines: Iterable[Line], choice: str) -> str | None:
    """The line serving ``choice``; the legacy map while no line names any choice; None: no line serves it."""
    return (choice_lines(lines) or LEGACY_CHOICE_LINES).get(choice)


class EscalationRefused(ValueError):
    """Escalation goes nowhere from here: ``reason`` for people, ``code`` for programs."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


def chain_above(lines: Mapping[str, Line], current: str) -> list[str]:
    """The lines above ``current`` by ``escalates_to``, nearest first; stops at a missing line or a loop."""
    above: list[str] = []
    seen = {current}
    nxt = lines[current].escalates_to if current in lines else None
    while nxt is not None and nxt in lines and nxt not in seen:
        above.append(nxt)
        seen.add(nxt)
        nxt = lines[nxt].escalates_to
    return above


def escalation_target(lines: Mapping[str, Line], current: str | None, requested: str | None = None) -> str:
    """The line a ticket on ``current`` is escalated to: the one ``current`` names, or ``requested`` if that is
    further up the same chain. Raises :class:`EscalationRefused` with the reason otherwise."""
    if current is None:
        if requested is None:
            raise EscalationRefused("the ticket is on no line yet: name the line to hand it to", "no_line")
        if requested not in lines:
            raise EscalationRefused(f"line {requested} is not in the lines directory", "not_on_chain")
        return requested
    above = chain_above(lines, current)
    if not above:
        why = f"line {current} escalates to no line" if current in lines else \
            f"line {current} is not in the lines directory"
        raise EscalationRefused(f"cannot escalate past {current}: {why}", "no_next_line")
    if requested is None:
        return above[0]
    if requested not in above:
        raise EscalationRefused(f"{requested} is not above {current} in its escalation chain "
                                f"({' → '.join([current, *above])})", "not_on_chain")
    return requested


def _loops(lines: Mapping[str, Line]) -> list[list[str]]:
    """Every loop of ``escalates_to`` once, each rotated to start at its smallest id."""
    found: set[tuple[str, ...]] = set()
    for start in lines:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in lines and node not in path:
            path.append(node)
            node = lines[node].escalates_to
        if node is not None and node in path:
            loop = path[path.index(node):]
            i = loop.index(min(loop))
            found.add(tuple(loop[i:] + loop[:i]))
    return [list(loop) for loop in sorted(found)]


def line_problems(lines: Mapping[str, Line]) -> list[str]:
    """What is wrong with a lines directory, one sentence each: an escalation to a missing line, a loop, a client
    choice served by more than one line. Empty: consistent."""
    problems = [f"line {ln.id} escalates to {ln.escalates_to}, which is not in the lines directory"
                for ln in sorted(lines.values(), key=lambda ln: ln.id)
                if ln.escalates_to is not None and ln.escalates_to not in lines]
    problems += [f"lines escalate in a loop: {' → '.join([*loop, loop[0]])}" for loop in _loops(lines)]
    servers: dict[str, list[str]] = {}
    for ln in sorted(lines.values(), key=lambda ln: ln.id):
        for choice in dict.fromkeys(ln.client_choices):
            servers.setdefault(choice, []).append(ln.id)
    problems += [f"client choice {choice} is served by more than one line: {', '.join(ids)}"
                 for choice, ids in sorted(servers.items()) if len(ids) > 1]
    return problems
