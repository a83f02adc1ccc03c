"""What a survey costs the database, and that the cheaper paths stay exactly-once: a resolution writes the survey
and its timer without reading either back, an answer clears its outbox in one write, and a redelivered resolution
after a crash between the survey and its timer finishes the job (real broker, database and ledger)."""

from __future__ import annotations

from datetime import datetime

from feedback_support import T0, desk

from services.feedback.domain import SurveyStatus
from services.feedback.handlers import outbox_item
from services.feedback.store import SurveyStore
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import feedback, tickets
from shared.contracts.schemas.common import Sender
from shared.contracts.topics import FEEDBACK_EVENTS, TICKETS_COMMANDS
from shared.directory.contacts import ContactPerson
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import db_commands, eventually, make_settings


def commands() -> dict[str, float]:
    return {name: db_commands(coll, cmd) for name, (coll, cmd) in {
        "survey reads": ("feedback_surveys", "find"), "survey updates": ("feedback_surveys", "update"),
        "contact reads": ("dir_contacts", "find"), "timer writes": ("feedback_timers", "update")}.items()}


def spent(before: dict[str, float]) -> dict[str, float]:
    return {k: v - before[k] for k, v in commands().items()}


async def test_a_resolution_and_its_answer_read_nothing_back(env: dict[str, str]) -> None:
    async with desk(env, sweep_interval_seconds=3600) as d:  # no outbox sweep among the counted reads
        await d.put(ContactPerson(id="c-1", client_id="cl-1", emails=["other@client.example"]))
        await d.in_progress("T-cost", sender=Sender(email="anna@client.example"))
        before = commands()
        await d.resolve("T-cost")
        request = (await d.survey("T-cost")).payload
        after_resolve = spent(before)
        # the sender's own e-mail takes the survey: no contact read; the survey not read back; one timer
        assert after_resolve == {"survey reads": 0, "survey updates": 0, "contact reads": 0, "timer writes": 1}
        assert request["to_email"] == "anna@client.example"

        before = commands()
        page = await d.click(request["links"]["good"])  # answered, published and cleared before it answers
        assert page.status_code == 200, page.text
        answered = spent(before)
        # the token's survey read once; the outbox cleared in one write, not read back
        assert answered["survey reads"] == 1 and answered["survey updates"] == 1, answered
        await d.events.wait("T-cost", "TicketCompleted")
        doc = await d.survey_doc("T-cost")
        assert doc["status"] == SurveyStatus.answered.value and doc["outbox"] == [] and "outbox_pending" not in doc
        assert [e.payload["answer"] for e in d.feedback.of("T-cost", "SurveyAnswered")] == ["good"]


async def test_a_redelivered_resolution_after_a_crash_before_the_timer_schedules_it_and_resends(
        env: dict[str, str]) -> None:
    async with desk(env) as d:
        await d.in_progress("T-crash", sender=Sender(email="anna@client.example"))
        resolved = await d.resolve("T-crash")
        first = await d.survey("T-crash")
        timers = d.db["feedback_timers"]
        await eventually(lambda: timers.find_one({"ticket_id": "T-crash"}), message="the survey's timer")
        # the crash: the survey is stored, its timer never was (and the request never went out, as far as we know)
        await timers.delete_many({"ticket_id": "T-crash"})
        await d.bus.publish(d.events.spec, resolved)
        await d.feedback.wait("T-crash", "SurveyRequested", count=2)
        again = d.feedback.of("T-crash", "SurveyRequested")[-1]
        assert again == first  # the same id and links: the stored request, not a new survey's
        timer = await eventually(lambda: timers.find_one({"ticket_id": "T-crash", "fired": False}),
                                 message="the timer scheduled again")
        assert timer["data"]["survey"] == (await d.survey_doc("T-crash"))["_id"]
        assert await d.db["feedback_surveys"].count_documents({"ticket_id": "T-crash"}) == 1


async def test_the_outbox_clears_whole_or_keeps_what_was_pushed_meanwhile(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    store = SurveyStore(database(client, settings))
    at = datetime(2026, 3, 2, 10, 0, tzinfo=T0.tzinfo)

    def item(i: str) -> dict[str, object]:
        env_ = envelope_for(feedback.SurveyAnswered(survey_id="s" * 16, answer="good"), "T-box", occurred_at=at,
                            actor="client", id=f"out-{i}")
        return outbox_item(FEEDBACK_EVENTS, env_)

    try:
        col = store.col
        await col.delete_many({"_id": {"$in": ["box-1", "box-2"]}})
        for doc_id in ("box-1", "box-2"):
            await col.insert_one({"_id": doc_id, "survey_id": f"pub-{doc_id}", "ticket_id": "T-box",
                                  "status": "answered", "outbox": [item("a"), item("b")], "outbox_pending": True})
        # nothing pushed since: one write empties it
        before = db_commands("feedback_surveys", "update")
        await store.clear_outbox("box-1", [item("a"), item("b")])
        assert db_commands("feedback_surveys", "update") - before == 1
        doc = await col.find_one({"_id": "box-1"})
        assert doc is not None and doc["outbox"] == [] and "outbox_pending" not in doc
        # a comment pushed its items after the answer's were read: those stay, still pending for the next flush
        note = outbox_item(TICKETS_COMMANDS, envelope_for(tickets.AddNote(author_id="client", text="hi"), "T-box",
                                                          occurred_at=at, actor="client", id="out-note"))
        await col.update_one({"_id": "box-2"}, {"$push": {"outbox": note}})
        await store.clear_outbox("box-2", [item("a"), item("b")])
        doc = await col.find_one({"_id": "box-2"})
        assert doc is not None and doc["outbox"] == [note] and doc["outbox_pending"] is True
    finally:
        await client.close()
