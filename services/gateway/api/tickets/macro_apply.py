"""Apply a macro to a ticket: one gateway action, the commands the individual actions would send, in order.

Everything that can be refused without the ledger is refused first (the ticket outside the scope: 404; a macro not
offered to the caller: 404; a text that does not render for this ticket: 422), so nothing reaches the ledger then.
The commands go one at a time and stop at the first the ledger refuses (409, every step's outcome in the problem)
or does not answer in time (202: retry with the same Idempotency-Key to go on; done steps are not repeated).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.language import Language
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import STAFF
from ...ledger.commands import command_id
from ...macros.plan import Step, language_for, plan
from ...macros.render import MacroTemplateError
from ...macros.store import MacroStore
from ..deps import Ctx, CurrentPrincipal, require
from ..macros import visible_macro
from ..models import TicketView
from .actions import IdempotencyKey
from .tickets import load_visible, view

StepState = Literal["done", "rejected", "pending", "not_sent"]


class ApplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"language": "ru"}]})
    language: Language | None = Field(None, description="The reply's language; default: the client's")


class StepOutcome(BaseModel):
    step: str = Field(description="reply, classify, tags, fields, hold or resolve")
    command_type: str
    command_id: str
    outcome: StepState = Field(description="not_sent: an earlier step was refused or is still pending")
    reason: str | None = Field(None, description="The ledger's reason, in words, when refused")
    code: str | None = None


class MacroApplied(BaseModel):
    apply_id: str
    macro_id: str
    macro_version: int
    ticket_id: str
    language: Language
    outcome: Literal["done", "pending"]
    steps: list[StepOutcome]
    ticket: TicketView | None = Field(None, description="The ticket after the last step (done)")


async def _send(ctx: Any, p: Any, ticket_id: str, steps: list[Step]) -> list[StepOutcome]:
    out: list[StepOutcome] = []
    stopped = False
    for s in steps:
        state: StepState = "not_sent"
        reason = code = None
        if not stopped:
            o = await ctx.commander.send(p, ticket_id, s.command, s.command_id)
            state, reason, code = o.state, o.reason, o.code
            stopped = o.state != "done"
        out.append(StepOutcome(step=s.name, command_type=type(s.command).__name__, command_id=s.command_id,
                               outcome=state, reason=reason, code=code))
    return out


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/tickets", tags=["actions"])

    @r.post("/{ticket_id}/macros/{macro_id}/apply", response_model=MacroApplied,
            responses={202: {"model": MacroApplied, "description": "A step is still pending: retry with the same "
                             "Idempotency-Key to go on"}, **problem_responses(401, 403, 404, 409, 422)},
            summary="Apply a macro: its reply (in the client's language), then its actions, each a ledger command")
    async def apply(ticket_id: str, macro_id: str, p: CurrentPrincipal, ctx: Ctx, body: ApplyBody | None = None,
                    key: IdempotencyKey = None) -> Any:
        require(p, STAFF, "macros")
        doc = await load_visible(ctx, p, ticket_id)
        store = MacroStore(ctx.reads.db)
        macro = await visible_macro(store, p, macro_id)
        apply_id = command_id(p, key, ticket_id, "macro", macro_id)
        try:
            language = language_for(macro, doc, body.language if body else None)
            steps = plan(macro, doc, agent_id=p.user_id, agent_name=p.name or p.user_id, language=language,
                         apply_id=apply_id)
        except MacroTemplateError as exc:
            raise ProblemError(422, "Macro cannot be applied", str(exc), macro_id=macro_id) from None
        outcomes = await _send(ctx, p, ticket_id, steps)
        states = {o.outcome for o in outcomes}
        overall = "refused" if "rejected" in states else "pending" if "pending" in states else "done"
        await store.record_use(apply_id, macro, p.user_id, doc, ctx.clock.now(), overall)
        if overall == "refused":
            bad = next(o for o in outcomes if o.outcome == "rejected")
            raise ProblemError(409, "Macro stopped", f"step {outcomes.index(bad) + 1} of {len(outcomes)} ({bad.step}) "
                               f"was refused: {bad.reason}", type="urn:frontline:command-rejected", code=bad.code,
                               apply_id=apply_id, steps=[o.model_dump() for o in outcomes])
        after = await ctx.reads.ticket(ticket_id) if overall == "done" else None
        result = MacroApplied(apply_id=apply_id, macro_id=macro.id, macro_version=macro.version, ticket_id=ticket_id,
                              language=language, outcome=overall, steps=outcomes,  # type: ignore[arg-type]
                              ticket=TicketView.model_validate(view(after, p)) if after else None)
        return JSONResponse(result.model_dump(mode="json"), status_code=202) if overall == "pending" else result

    return r
