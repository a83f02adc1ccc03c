"""Resolve → survey on the right channel → the first answer is final, on the real broker, database and ledger."""

from __future__ import annotations

from urllib.parse import urlsplit

from feedback_support import AGENT, FeedbackDesk, desk

from services.feedback.handlers import outbox_item
from shared.contracts.envelope import caused_id, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.contracts.topics import TICKETS_COMMANDS
from shared.directory.contacts import ContactPerson
from tests.support.testing import eventually


async def test_resolve_without_the_two_fields_is_rejected_by_the_ledger(env: dict[str, str]) -> None:
    async with desk(env) as d:
        await d.in_progress("T-fields", sender=Sender(email="anna@client.example"))
        await d.send("T-fields", t.ResolveTicket(agent_id=AGENT, problem="No internet", solution="   "))
        await d.send("T-fields", t.ResolveTicket(agent_id=AGENT))
        rejected = await d.events.wait("T-fields", "CommandRejected", count=2)
        assert [r.payload["code"] for r in rejected] == ["resolution_fields_required"] * 2
        assert "solution" in rejected[0].payload["reason"] and "problem" in rejected[1].payload["reason"]
        assert (await d.ticket("T-fields"))["status"] == "in_progress"
        assert not d.events.of("T-fields", "TicketResolved") and not d.feedback.of("T-fields")
        resolved = await d.resolve("T-fields")  # with both fields it goes through, and the survey carries them
        survey = (await d.survey("T-fields")).payload
        assert survey["problem"] == resolved.payload["problem"] == "No internet since morning"
        assert survey["solution"] == "Reset the port on the switch"

        # A crash right after the answer was stored, before it was published: the outbox sweep sends it.
        worker = d.app.state.service
        stored = await worker.store.by_public_id(survey["survey_id"])
        rating = envelope_for(t.RecordRating(survey_id=stored.survey_id, answer="good"), "T-fields",
                              occurred_at=d.clock.now(), id=caused_id(stored.id, "rating"))
        assert await worker.store.record_answer(stored, "good", d.clock.now(), rating.id,
                                                [outbox_item(TICKETS_COMMANDS, rating)]) is not None
        done = await d.events.wait("T-fields", "TicketCompleted")
        assert done[0].payload["reason"] == "rated" and (await d.ticket("T-fields"))["rating"]["answer"] == "good"
        await eventually(lambda: _outbox_empty(d, "T-fields"), message="outbox cleared")


async def _outbox_empty(d: FeedbackDesk, ticket_id: str) -> bool:
    doc = await d.survey_doc(ticket_id)
    return not doc.get("outbox") and "outbox_pending" not in doc


async def test_survey_goes_out_on_the_channel_the_ticket_came_from(env: dict[str, str]) -> None:
    async with desk(env) as d:
        await d.put(ContactPerson(id="c-sms", client_id="cl-1", phones=["+79001234567"]),
                    ContactPerson(id="c-mail", client_id="cl-2", emails=["boss@client.example"]))
        await d.in_progress("T-chat", channel=Channel.chat, sender=Sender(chat_id="tg:42", email="x@client.example"))
        await d.in_progress("T-mail", channel=Channel.email, sender=Sender(email="anna@client.example"))
        await d.in_progress("T-phone", channel=Channel.phone, sender=Sender(phone="+79001234567"))
        await d.in_progress("T-contact", channel=Channel.web, sender=Sender(name="Oleg"),
                            client=ClientRef(client_id="cl-2", contact_id="c-mail"))
        await d.in_progress("T-nobody", channel=Channel.web, sender=Sender(name="Anonymous"))
        for ticket_id in ("T-chat", "T-mail", "T-phone", "T-contact", "T-nobody"):
            await d.resolve(ticket_id)
        chat, mail, sms, contact = [(await d.survey(tid)).payload for tid in ("T-chat", "T-mail", "T-phone",
                                                                               "T-contact")]
        assert chat["channel"] == "chat" and chat["chat_conversation_id"] == "tg:42"
        assert [b["answer"] for b in chat["buttons"]] == ["good", "bad", "not_mine"]
        assert [b["url"] for b in chat["buttons"]] == [chat["links"][a] for a in ("good", "bad", "not_mine")]
        assert chat["buttons"][2]["label"] == "Я не оставлял это обращение"
        assert mail["channel"] == "email" and mail["to_email"] == "anna@client.example" and not mail["buttons"]
        assert sms["channel"] == "sms" and sms["to_phone"] == "+79001234567"
        assert contact["channel"] == "email" and contact["to_email"] == "boss@client.example"
        for p in (chat, mail, sms, contact):
            assert set(p["links"]) == {"good", "bad", "not_mine"} and p["ticket_number"] >= 1
            tokens = {urlsplit(u).path.split("/")[2] for u in p["links"].values()}
            assert len(tokens) == 1  # one token per survey, the answer beside it
        # No contact at all: the survey exists (and its timer), but nothing is sent.
        nobody = await eventually(lambda: d.db["feedback_surveys"].find_one({"ticket_id": "T-nobody"}))
        assert nobody["channel"] is None and nobody["status"] == "pending"
        assert not d.feedback.of("T-nobody", "SurveyRequested")
        # Redelivering TicketResolved creates nothing new and re-sends the very same request.
        resolved = d.events.of("T-mail", "TicketResolved")[0]
        await d.bus.publish(d.events.spec, resolved)
        await d.feedback.wait("T-mail", "SurveyRequested", count=2)
        first, again = d.feedback.of("T-mail", "SurveyRequested")
        assert first == again
        assert await d.db["feedback_surveys"].count_documents({"ticket_id": "T-mail"}) == 1


async def _answered(d: FeedbackDesk, ticket_id: str, answer: str) -> dict[str, object]:
    links = (await d.survey(ticket_id)).payload["links"]
    page = await d.click(links[answer])
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html") and "<form" in page.text
    rated = await d.events.wait(ticket_id, "TicketCompleted")
    assert rated[0].payload["reason"] == "rated"
    return links


async def test_first_answer_is_final_and_forged_links_change_nothing(env: dict[str, str]) -> None:
    async with desk(env) as d:
        await d.in_progress("T-good", sender=Sender(email="anna@client.example"))
        await d.in_progress("T-bad", channel=Channel.phone, sender=Sender(phone="+79001112233"))
        await d.resolve("T-good")
        await d.resolve("T-bad")
        good_links = await _answered(d, "T-good", "good")
        bad_links = await _answered(d, "T-bad", "bad")
        good, bad = await d.ticket("T-good"), await d.ticket("T-bad")
        assert good["status"] == bad["status"] == "completed"
        assert good["rating"]["answer"] == "good" and bad["rating"]["answer"] == "bad"
        assert (await d.survey_doc("T-good"))["status"] == "answered"
        assert not await d.db["feedback_timers"].count_documents({"ticket_id": "T-good", "fired": False})
        answered = await d.feedback.wait("T-good", "SurveyAnswered")
        assert answered[0].payload["answer"] == "good"

        # A second answer, by any of the links, any method: polite 409, the rating stays.
        again = await d.click(good_links["bad"])
        assert again.status_code == 409 and "Вы уже ответили" in again.text and "Работа понравилась" in again.text
        same = await d.click(good_links["good"], method="POST", accept="application/json")
        assert same.status_code == 409 and same.headers["content-type"] == "application/problem+json"
        assert same.json()["code"] == "already_answered"

        # Forged: a made-up signature, another ticket's survey id under this token, garbage.
        token = urlsplit(good_links["good"]).path.split("/")[2]
        survey_id, expires, sig = token.split(".")
        other_id = urlsplit(bad_links["bad"]).path.split("/")[2].split(".")[0]
        forged = [f"{survey_id}.{expires}.{'A' * len(sig)}", f"{other_id}.{expires}.{sig}",
                  f"{survey_id}.{int(expires) + 86400}.{sig}", "nonsense", "a.b.c"]
        for bad_token in forged:
            resp = await d.http.get(f"/s/{bad_token}/bad", headers={"Accept-Language": "en-GB,en;q=0.8"})
            assert resp.status_code == 403 and "not valid" in resp.text, bad_token
        problem = await d.http.post(f"/s/{forged[0]}/good", headers={"Accept": "application/json"})
        assert problem.status_code == 403 and problem.json()["code"] == "invalid_link"
        assert (await d.http.get(f"/s/{token}/excellent")).status_code == 404

        # The optional comment: once, HTML form POST without JavaScript.
        form = await d.http.post(f"/s/{token}/comment", data={"comment": "Fast, thanks <b>a lot</b>"})
        assert form.status_code == 200 and "Спасибо за комментарий" in form.text
        twice = await d.http.post(f"/s/{token}/comment", data={"comment": "changed my mind"})
        assert twice.status_code == 409
        note = await d.events.wait("T-good", "NoteAdded")
        assert "Fast, thanks <b>a lot</b>" in note[0].payload["text"]
        status = await d.http.get(f"/s/{token}", params={"lang": "en"})
        assert status.status_code == 200 and "Fast, thanks &lt;b&gt;a lot&lt;/b&gt;" in status.text

        rating = await d.ticket("T-good")
        assert rating["rating"]["answer"] == "good"
        doc = await d.survey_doc("T-good")
        assert doc["answer"] == "good" and doc["comment"] == "Fast, thanks <b>a lot</b>" and "outbox_pending" not in doc
        assert len(d.events.of("T-good", "RatingRecorded")) == 1
