"""Expiry, auto-completion, reopen and "not mine" on the real broker, database and ledger (a manual clock)."""

from __future__ import annotations

from datetime import timedelta

from feedback_support import AGENT, T0, FeedbackDesk, desk

from services.gateway.reports.feedback_pipelines import csat_report, fraud_alerts, fraud_alerts_per_agent
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import ClientRef, Sender
from shared.directory.routing import Group, Role, ServiceTeam, TeamMember
from tests.support.testing import eventually

TTL, DELAY = 3600.0, 7200.0


async def test_not_mine_alerts_the_leads_and_marks_the_ticket(env: dict[str, str]) -> None:
    async with desk(env, token_ttl_seconds=TTL, auto_complete_seconds=DELAY) as d:
        await d.put(ServiceTeam(id="team-1", name="Air", members=[
                        TeamMember(agent_id="lead-1", role=Role.team_lead), TeamMember(agent_id="agent-x")]),
                    Group(id="g-1", line_id="first", lead_ids=["lead-2", "lead-1"]))
        await d.in_progress("T-fraud", sender=Sender(email="victim@client.example"), created_by="agent-fake",
                            client=ClientRef(client_id="cl-1", service_team_id="team-1"))
        await d.resolve("T-fraud")
        links = (await d.survey("T-fraud")).payload["links"]
        page = await d.click(links["not_mine"])
        assert page.status_code == 200 and "от вашего имени" in page.text
        alert = (await d.feedback.wait("T-fraud", "FraudAlertRaised"))[0].payload
        assert alert["suspected_agent_id"] == "agent-fake" and alert["lead_ids"] == ["lead-1", "lead-2"]
        assert alert["service_team_id"] == "team-1" and alert["ticket_number"] >= 1
        flag = (await d.events.wait("T-fraud", "FlagChanged"))[0].payload
        assert flag["flag"] == "fraud_suspected" and flag["value"] is True
        ticket = await d.ticket("T-fraud")
        assert ticket["flags"]["fraud_suspected"] and ticket["rating"]["answer"] == "not_mine"
        assert ticket["status"] == "completed" and ticket["created_by"] == "agent-fake"
        doc = await eventually(lambda: d.db["feedback_surveys"].find_one({"ticket_id": "T-fraud",
                                                                         "fraud": {"$ne": None}}))
        assert doc["fraud"]["suspected_agent_id"] == "agent-fake"
        # The supervisors' report lists it, per alert and per agent who opened the ticket.
        period = dict(period_start=T0 - timedelta(days=1), period_end=T0 + timedelta(days=1))
        alerts = await fraud_alerts(d.db, **period)
        assert [(a.ticket_id, a.suspected_agent_id, a.lead_ids) for a in alerts] == [
            ("T-fraud", "agent-fake", ["lead-1", "lead-2"])]
        per_agent = await fraud_alerts_per_agent(d.db, **period)
        assert [(r.suspected_agent_id, r.alerts, r.ticket_ids) for r in per_agent] == [("agent-fake", 1, ["T-fraud"])]
        assert await fraud_alerts(d.db, **period, agent_ids=["someone-else"]) == []
        rows = await csat_report(d.db, **period, by="line")
        assert [(r.key, r.good, r.bad, r.not_mine, r.csat) for r in rows] == [("first", 0, 0, 1, None)]
        # A second "not mine" is no second alert and no second rating.
        again = await d.click(links["not_mine"])
        assert again.status_code == 409
        assert len({e.id for e in d.feedback.of("T-fraud", "FraudAlertRaised")}) == 1


async def test_expired_links_refused_unanswered_tickets_complete_after_the_delay(env: dict[str, str]) -> None:
    async with desk(env, token_ttl_seconds=TTL, auto_complete_seconds=DELAY) as d:
        await d.in_progress("T-late", sender=Sender(email="late@client.example"))
        await d.in_progress("T-reopen", sender=Sender(email="again@client.example"))
        await d.resolve("T-late")
        await d.resolve("T-reopen")
        late = (await d.survey("T-late")).payload["links"]
        first = (await d.survey("T-reopen")).payload["links"]

        # Reopened before the client answered: the old link is refused while the ticket is worked on…
        await d.send("T-reopen", t.ReopenTicket(reason="client wrote again"))
        await d.events.wait("T-reopen", "TicketReopened")
        refused = await d.click(first["good"], accept="application/json")
        assert refused.status_code == 409 and refused.json()["code"] == "not_resolved"
        # …and after the next resolution only the new survey takes an answer.
        await d.send("T-reopen", t.ResolveTicket(agent_id="agent-anna", problem="Still down", solution="New modem"))
        requests = await d.feedback.wait("T-reopen", "SurveyRequested", count=2)
        second = requests[-1].payload
        assert second["survey_id"] != requests[0].payload["survey_id"] and second["links"] != first
        stale = await d.click(first["bad"], accept="application/json")
        assert stale.status_code == 409 and stale.json()["code"] == "survey_closed"
        assert (await d.ticket("T-reopen"))["rating"] is None
        assert {doc["status"] async for doc in d.db["feedback_surveys"].find({"ticket_id": "T-reopen"})} == {
            "cancelled", "pending"}

        # Past the token's lifetime: a clear page and 410, the ticket stays unrated.
        d.clock.advance(timedelta(seconds=TTL + 1))
        expired = await d.click(late["good"])
        assert expired.status_code == 410 and "Срок действия ссылки истёк" in expired.text
        problem = await d.click(late["bad"], accept="application/json")
        assert problem.status_code == 410 and problem.headers["content-type"] == "application/problem+json"
        assert (await d.ticket("T-late"))["status"] == "resolved"

        # Past the auto-complete delay: the durable timer completes both unrated tickets, once.
        assert not d.events.of("T-late", "TicketCompleted")
        d.clock.advance(timedelta(seconds=DELAY - TTL))
        for ticket_id in ("T-late", "T-reopen"):
            done = await d.events.wait(ticket_id, "TicketCompleted")
            assert done[0].payload["reason"] == "no_rating_timeout"
            ticket = await d.ticket(ticket_id)
            assert ticket["status"] == "completed" and ticket["rating"] is None
        assert (await d.survey_doc("T-late"))["status"] == "timed_out"
        assert await d.db["feedback_timers"].count_documents({"fired": False}) == 0
        after = await d.click(second["links"]["good"], accept="application/json")
        assert after.status_code == 410 and (await d.ticket("T-reopen"))["rating"] is None


async def test_a_resolved_development_sub_ticket_completes_without_a_survey(env: dict[str, str]) -> None:
    async with desk(env) as d:
        await d.in_progress("T-parent", sender=Sender(email="anna@client.example"))
        await d.send("T-parent", t.OpenSubTicket(child_id="T-child", opened_by=AGENT, summary="Fix the switch"))
        await d.events.wait("T-child", "TicketOpened")
        for cmd in (t.OfferTicket(agent_ids=[AGENT], line="development"), t.ClaimTicket(agent_id=AGENT),
                    t.StartWork(agent_id=AGENT)):
            await d.send("T-child", cmd)
        await d.events.wait("T-child", "WorkStarted")
        await d.resolve("T-child")
        done = (await d.events.wait("T-child", "TicketCompleted"))[0].payload
        assert done["reason"] == "internal"
        assert not d.feedback.of("T-child"), "no survey, so no 'I did not open this request' against its opener"
        assert await d.db["feedback_surveys"].count_documents({"ticket_id": "T-child"}) == 0
        await eventually(lambda: _child_status(d, "completed"), message="the parent shows the child completed")
        assert (await d.ticket("T-parent"))["status"] == "in_progress"
        await d.resolve("T-parent")  # the parent, the client's own ticket, is surveyed as always
        assert (await d.survey("T-parent")).ticket_id == "T-parent"


async def _child_status(d: FeedbackDesk, status: str) -> bool:
    children = (await d.ticket("T-parent"))["children"]
    return any(c["id"] == "T-child" and c.get("status") == status for c in children)
