"""A reply "wrong number" (and its like) is no opt-out of a person: whoever consented is not at
the number any more. It voids the number's consent on every channel as reassigned, is kept as
a report, and leaves the number out of every broadcast until consent is recorded afresh."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from broadcasts import policy, sending, services
from broadcasts.models import Broadcast, Recipient
from broadcasts.policy import REASSIGNED
from contacts import services as contact_services
from contacts.display import channel_icons
from contacts.models import (
    Channel,
    ConsentMethod,
    ConsentRecord,
    Contact,
    OptInStatus,
    ReassignedNumber,
)
from messaging.models import InboundEvent, PossibleOptOut
from messaging.phrases import teach
from tests.broadcasts.engine import broadcast, launched, sent_to
from tests.factories import ContactFactory
from tests.messaging.conftest import FORM, sign

PHONE = "+14155550123"

pytestmark = pytest.mark.django_db


def text(client, body: str, *, sid: str = "SMwrong1", phone: str = PHONE) -> str:
    data = {"MessageSid": sid, "From": phone, "To": "+14155559999", "Body": body}
    signature = sign("http://testserver/webhooks/twilio/sms/", data)
    response = client.post("/webhooks/twilio/sms/", urlencode(data), content_type=FORM,
                           headers={"X-Twilio-Signature": signature})  # fmt: skip
    assert response.status_code == 200
    return response.content.decode()


def consented(phone: str = PHONE, channels=tuple(Channel)) -> Contact:
    contact = ContactFactory(phone=phone)
    for channel in channels:
        contact_services.record_consent(
            phone=phone, channel=channel, method=ConsentMethod.PAPER,
            given_at=timezone.now() - timedelta(days=30),
        )  # fmt: skip
    return contact


@pytest.mark.parametrize(
    ("body", "reviewed"),
    [("Wrong number", False), ("I'm not Dana", False), ("No soy Rosa", False),
     ("This isn't Maria's phone anymore", True)],  # "anymore": is it a request to stop?
)  # fmt: skip
def test_a_wrong_number_voids_the_number_s_consent_and_is_no_opt_out(client, body, reviewed):
    contact = consented()
    answer = text(client, body)
    assert "<Message>" not in answer  # nothing to someone who never agreed to hear from us
    records = ConsentRecord.objects.filter(phone=PHONE)
    assert {record.status for record in records} == {ConsentRecord.Status.VOID}
    assert {record.channel for record in records} == set(Channel.values)
    reason = records.first().void_reason
    assert reason.startswith(f"number reassigned: replied “{body}” on ")
    report = ReassignedNumber.objects.get()
    assert (report.phone, report.how, report.words, report.reference) == (
        PHONE, "reply", body, "sms:SMwrong1"
    )  # fmt: skip
    reading = InboundEvent.objects.get().reading
    assert reading.startswith("possible opt-out: " if reviewed else "wrong number: ")
    assert "wrong number: wrong number" not in reading  # said once
    fresh = Contact.objects.get(pk=contact.pk)
    assert [fresh.opt_in_status(channel) for channel in Channel] == [OptInStatus.SUBSCRIBED] * 2
    assert PossibleOptOut.objects.exists() == reviewed


def test_a_wrong_number_with_a_request_to_stop_is_an_opt_out_and_voids_the_consent(client):
    """Texts stop for good; calls, which the STOP does not stop, reach nobody either: whoever
    consented to them is not at the number."""
    contact = consented()
    assert "unsubscribed" in text(client, "Wrong number, STOP")
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert ReassignedNumber.objects.get().phone == contact.phone


@pytest.mark.parametrize(
    ("channel", "purpose"),
    [(Channel.SMS, Broadcast.Purpose.MARKETING), (Channel.CALLS, Broadcast.Purpose.INFORMATIONAL)],
)
@pytest.mark.parametrize("listed", [True, False], ids=["listed", "looked up"])
def test_no_broadcast_reaches_a_reassigned_number_until_consent_is_recorded_afresh(
    client, manager, django_capture_on_commit_callbacks, channel, purpose, listed, monkeypatch
):
    """Reported numbers are listed for a preview's or a launch's queries when few
    (`policy.LISTED`), else looked up in each: the same contacts either way."""
    if not listed:
        monkeypatch.setattr(policy, "LISTED", 0)
    wrong, other = consented(), consented("+14155550124")
    text(client, "wrong number")
    b = broadcast(channel, purpose=purpose)
    preview = services.preview(b)
    assert preview.excluded[REASSIGNED.label] == 1 and preview.receive == 1
    launched(b, manager, django_capture_on_commit_callbacks)
    assert sent_to() == [other.phone]

    # The new holder texts JOIN (consent to texts only): texts reach the number again.
    text(client, "JOIN", sid="SMjoin1")
    again = services.preview(broadcast(channel, purpose=purpose))
    if channel == Channel.SMS:
        assert (again.excluded.get(REASSIGNED.label, 0), again.receive) == (0, 2)
        assert Contact.objects.get(pk=wrong.pk).consent_for(channel).words == "JOIN"
    else:
        assert (again.excluded[REASSIGNED.label], again.receive) == (1, 1)


def test_a_send_after_the_launch_checks_again(client, manager):
    wrong, other = consented(), consented("+14155550124")
    b = broadcast()
    services.launch(broadcast=b, by_user=manager)  # recipients chosen; nothing sent yet
    text(client, "Wrong #")
    sending.run(b.pk)
    assert sent_to() == [other.phone]
    skipped = b.recipients.get(phone=wrong.phone)
    assert (skipped.status, skipped.error) == (Recipient.Status.SKIPPED, REASSIGNED.label)


def test_the_contact_page_tooltips_and_evidence_say_it(client, admin_client):
    contact = consented()
    text(client, "Wrong number")
    page = admin_client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "Number reported reassigned</strong>: replied “Wrong number” on" in page
    assert "no broadcast reaches this number until consent given since is recorded" in page
    assert "number reported reassigned on" in page  # the Opt-In Status words
    table = admin_client.get(reverse("contacts:list")).content.decode()
    assert "Subscribed to SMS: number reported reassigned on" in table
    evidence = admin_client.get(reverse("contacts:evidence", args=[contact.pk]), {"format": "json"})
    reports = json.loads(evidence.content)["reported_reassigned"]
    assert [(r["how"], r["words"], r["event"]) for r in reports] == [
        ("reply", "Wrong number", "sms:SMwrong1")
    ]


def test_a_phrase_cannot_make_a_wrong_number_an_ordinary_reply(admin_role_user):
    with pytest.raises(Exception, match="is always read as a wrong number"):
        teach(words="Wrong number", meaning="other", by=admin_role_user, may_change=True)


def sql(statement: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE contacts_reassignednumber SET phone = '+14155550999'",
        "DELETE FROM contacts_reassignednumber",
    ],
)
def test_the_database_keeps_each_report(statement):
    contact_services.record_reassigned(phone=PHONE, how="reply", words="Wrong number")
    with pytest.raises(IntegrityError, match="kept as written"):
        sql(statement)
    assert ReassignedNumber.objects.get().phone == PHONE


@pytest.mark.postgres
def test_postgres_stamps_the_report_and_refuses_to_empty_the_table():
    sql(
        "INSERT INTO contacts_reassignednumber (phone, reported_at, how, words, reference)"
        " VALUES (%s, '2020-01-01', 'reply', 'Wrong number', '')",
        [PHONE],
    )
    assert ReassignedNumber.objects.get().reported_at.year == timezone.now().year
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError, match="kept as written"):
        sql("TRUNCATE contacts_reassignednumber")


def test_only_consent_given_after_the_report_lets_broadcasts_reach_the_number(client, admin_client):
    contact = consented(channels=(Channel.SMS,))
    text(client, "Wrong number")
    # The previous holder's consent, imported or recorded later, is not the new holder's.
    contact_services.record_consent(
        phone=PHONE, channel=Channel.SMS, method=ConsentMethod.IMPORT,
        given_at=timezone.now() - timedelta(days=90),
    )  # fmt: skip
    assert services.preview(broadcast()).excluded[REASSIGNED.label] == 1
    [sms, _] = channel_icons(Contact.objects.with_consent().get(pk=contact.pk))
    assert sms.tooltip.startswith("Subscribed to SMS: number reported reassigned on")
    # An Admin records the new holder's consent, given today: it counts from now.
    today = timezone.localdate().isoformat()
    admin_client.post(
        reverse("contacts:consent", args=[contact.pk]),
        {"channels": ["sms"], "method": "verbal", "given_on": today},
    )
    assert services.preview(broadcast()).excluded.get(REASSIGNED.label, 0) == 0
