"""A number's evidence file (/contacts/<id>/evidence/, manage.py consent_evidence): checked
row by row against what the app recorded for the number, and for nothing else's."""

import itertools
import json
from datetime import UTC, datetime
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from broadcasts.models import Broadcast
from contacts import services
from contacts.models import Channel, ConsentEvent, ConsentMethod, ConsentRecord, Disclosure
from tests.broadcasts.engine import broadcast, launched
from tests.factories import ContactFactory
from tests.messaging.conftest import FORM, sign

PHONE, OTHER = "+14155550123", "+14155550124"
_sids = itertools.count(1)


@pytest.fixture
def text(client):
    """An inbound SMS from PHONE, signed as Twilio signs it; returns its MessageSid."""

    def send(body: str, phone: str = PHONE) -> str:
        sid = f"SMevidence{next(_sids)}"
        data = {"MessageSid": sid, "From": phone, "To": "+14155559999", "Body": body}
        headers = {"X-Twilio-Signature": sign("http://testserver/webhooks/twilio/sms/", data)}
        response = client.post("/webhooks/twilio/sms/", urlencode(data), content_type=FORM,
                               headers=headers)  # fmt: skip
        assert response.status_code == 200
        return sid

    return send


@pytest.fixture
def history(admin_role_user, manager, text, django_capture_on_commit_callbacks):
    """A paper consent to calls, a JOIN, a marketing broadcast, a STOP; and another number's."""
    contact = ContactFactory(name="Ana Evidence", phone=PHONE)
    other = ContactFactory(name="Olga Other", phone=OTHER)
    form = Disclosure.objects.create(title="Front desk form", text="I agree to calls.\nSigned.")
    services.record_consent(
        phone=PHONE, channel=Channel.CALLS, method=ConsentMethod.PAPER,
        given_at=datetime(2026, 11, 2, 15, tzinfo=UTC), by_user=admin_role_user,
        disclosure=form, words="Signed at the desk",
    )  # fmt: skip
    joined = text("JOIN")
    text("JOIN", phone=OTHER)
    offers = broadcast()
    Broadcast.objects.filter(pk=offers.pk).update(name="Winter offers")
    b = launched(offers, manager, django_capture_on_commit_callbacks)
    stopped = text("STOP")
    services.unsubscribe(contact=other, channel=Channel.CALLS, by_user=admin_role_user)
    return {"contact": contact, "broadcast": b, "joined": joined, "stopped": stopped}


def evidence_of(client, contact) -> dict:
    url = reverse("contacts:evidence", args=[contact.pk]) + "?format=json"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="evidence-14155550123.json"'
    return json.loads(response.content)


def test_the_file_holds_every_consent_ledger_row_and_message_of_the_number(admin_client, history):
    data = evidence_of(admin_client, history["contact"])
    assert (data["number"], data["number_display"], data["business"]) == (
        PHONE, "(415) 555-0123", "Demo Dental",
    )  # fmt: skip

    records = ConsentRecord.objects.filter(phone=PHONE).order_by("id")
    assert [(r["channel"], r["method"], r["given_at"], r["recorded_by"], r["event"])
            for r in data["consent_records"]] == [
        ("calls", "paper", "2026-11-02T15:00:00+00:00", "admintest", ""),
        ("sms", "keyword", records[1].given_at.isoformat(), None, f"sms:{history['joined']}"),
    ]  # fmt: skip
    assert data["consent_records"][0]["disclosure"] == {
        "title": "Front desk form", "version": 1, "text": "I agree to calls.\nSigned.",
    }  # fmt: skip
    assert data["consent_records"][0]["words"] == "Signed at the desk"
    assert data["consent_records"][1]["disclosure"] is None

    ledger = ConsentEvent.objects.filter(phone=PHONE).order_by("id")
    assert [(r["id"], r["contact_id"], r["channel"], r["before"], r["after"], r["source"])
            for r in data["ledger"]] == [
        (e.pk, e.contact_id, e.channel, e.before, e.after, e.source) for e in ledger
    ]  # fmt: skip
    assert [r["after"] for r in data["ledger"]] == ["hard", "hard"]  # the number's, Ana's
    assert data["ledger"][1]["how"] == "replied “STOP”"
    assert data["opt_outs"] == [
        {"channel": "sms", "at": data["opt_outs"][0]["at"], "source": "keyword", "words": "STOP",
         "matched": "keyword STOP"},
    ]  # fmt: skip

    recipient = history["broadcast"].recipients.get(phone=PHONE)
    messages = [(m["direction"], m["kind"], m["provider_id"], m["text"]) for m in data["messages"]]
    assert messages == [
        ("in", "sms", history["joined"], "JOIN"),
        ("out", "reply", "", "Demo Dental: you're subscribed to reminders and offers, up to 4 "
         "msgs/mo. Msg & data rates may apply. Reply HELP for help, STOP to cancel."),
        ("out", "sms", recipient.sid, "Hello\nReply STOP to opt out"),
        ("in", "sms", history["stopped"], "STOP"),
        ("out", "reply", "", "You have been unsubscribed from Demo Dental messages and will "
         "receive no more. Reply START to resubscribe."),
    ]  # fmt: skip
    assert (
        "broadcast" in data["messages"][2]["detail"]
        and "Winter offers" in data["messages"][2]["detail"]
    )
    assert data["messages"][3]["detail"] == "opt-out: keyword STOP"
    assert [(h["name"], h["has_it_now"]) for h in data["holders"]] == [("Ana Evidence", True)]


def test_another_number_s_history_is_not_in_the_file(admin_client, history):
    text_of_file = json.dumps(evidence_of(admin_client, history["contact"]))
    assert OTHER not in text_of_file and "Olga" not in text_of_file


def test_the_page_shows_the_same_and_prints_without_the_app_s_chrome(client, staff_user, history):
    client.force_login(staff_user)
    page = client.get(reverse("contacts:evidence", args=[history["contact"].pk])).content.decode()
    assert "Consent evidence: (415) 555-0123" in page
    assert "I agree to calls.<br>Signed." in page and history["joined"] in page
    assert "/static/css/evidence.css" in page and "Download as JSON" in page
    detail = client.get(history["contact"].get_absolute_url()).content.decode()
    assert reverse("contacts:evidence", args=[history["contact"].pk]) in detail


def test_the_command_writes_the_same_file_for_the_number_in_any_format(
    admin_client, history, tmp_path
):
    out = StringIO()
    call_command("consent_evidence", phone="(415) 555-0123", stdout=out)
    from_command = json.loads(out.getvalue())
    from_page = evidence_of(admin_client, history["contact"])
    del from_command["generated_at"], from_page["generated_at"]
    assert from_command == from_page

    target = tmp_path / "evidence.html"
    call_command("consent_evidence", phone=PHONE, format="html", output=str(target))
    html = target.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "@media print" in html
    assert "I agree to calls.<br>Signed." in html


def test_the_command_refuses_a_number_it_cannot_read(db):
    with pytest.raises(CommandError, match="--phone 'not a number'"):
        call_command("consent_evidence", phone="not a number")


def test_a_number_with_no_history_gets_a_file_that_says_so(admin_client):
    contact = ContactFactory(phone=PHONE)
    data = evidence_of(admin_client, contact)
    assert (data["consent_records"], data["ledger"], data["messages"]) == ([], [], [])
    page = admin_client.get(reverse("contacts:evidence", args=[contact.pk])).content.decode()
    assert "No consent on record." in page and "No messages." in page
