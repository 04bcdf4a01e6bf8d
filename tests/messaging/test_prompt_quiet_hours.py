"""A double opt-in prompt keeps the number's quiet hours, as broadcasts do: asked for while
they last, it is held until they end, then sent by the worker, checked again as it goes."""

import io
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files import File
from django.db import connection

from contacts import imports, services
from contacts.models import (
    Channel,
    ConfirmationPrompt,
    ConsentRecord,
    Contact,
    Source,
)
from messaging.backends import LocmemBackend
from messaging.models import OutboundMessage
from tests.factories import ContactFactory
from tests.messaging.test_double_opt_in import recorded
from tests.messaging.test_keyword_consent import PHONE, reply
from tests.messaging.test_webhook_sms import LONG, on_its_own_connection

PACIFIC = ZoneInfo("America/Los_Angeles")  # PHONE's, a San Francisco number
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_hours")]


def at(day: int, hour: int, minute: int = 0) -> time_machine.travel:
    """On that day of December 2026 (the 7th is a Monday), San Francisco time."""
    return time_machine.travel(datetime(2026, 12, day, hour, minute, tzinfo=PACIFIC), tick=False)


def awaiting(phone: str = PHONE, channel: str = Channel.SMS) -> ConsentRecord:
    return services.record_consent(
        phone=phone, channel=channel, method="web_form", given_at=datetime.now(PACIFIC),
        awaiting=True,
    )  # fmt: skip


def test_a_prompt_asked_for_at_night_waits_for_the_morning(admin_client, sms, outbox):
    contact = ContactFactory(phone=PHONE, name="Dee")
    with at(7, 21, 30):
        page = recorded(admin_client, contact).content.decode()
    assert "Dee: consent to SMS and Calls &amp; Voicemails recorded, awaiting confirmation." in page
    assert (
        "A text will ask the number to reply YES within 30 days to confirm it when its quiet "
        "hours end, at 08:00 their time (08:00–21:00 Pacific (CA))." in page
    )
    assert not outbox
    prompt = ConfirmationPrompt.objects.get()
    assert prompt.sent_at is None
    assert prompt.send_at == datetime(2026, 12, 8, 8, tzinfo=PACIFIC)
    page = admin_client.get(contact.get_absolute_url()).content.decode()
    assert (
        "The text asking the number to confirm: held until the number's quiet hours end at "
        "08:00 their time (08:00–21:00 Pacific (CA)): 8 Dec 2026, 16:00." in page
    )

    # A YES before the prompt goes answers nothing that was asked.
    reply(sms("YES", sid="SMearly"))
    assert set(ConsentRecord.objects.values_list("status", flat=True)) == {"awaiting"}

    with at(8, 7, 59):
        assert services.send_held_prompts() == 0
    assert not outbox
    with at(8, 8, 0):
        assert services.send_held_prompts() == 1
        assert services.send_held_prompts() == 0  # once
    [sent] = outbox
    assert sent["to"] == PHONE and sent["body"].startswith("Demo Dental: reply YES to confirm")
    prompt.refresh_from_db()
    assert (prompt.sid, prompt.not_sent) == (sent["sid"], "")
    assert prompt.sent_at is not None
    page = admin_client.get(contact.get_absolute_url()).content.decode()
    assert "The text asking the number to confirm: sent " in page

    reply(sms("YES", sid="SMyes"))
    assert {(r.status, r.confirmation) for r in ConsentRecord.objects.all()} == {
        ("confirmed", "sms:SMyes")
    }


def test_prompts_asked_for_one_number_at_night_go_as_one_text(outbox):
    ContactFactory(phone=PHONE)
    with at(7, 22, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
        services.ask_to_confirm(PHONE, [Channel.CALLS])
    assert ConfirmationPrompt.objects.get().channels == "sms calls"
    with at(8, 8, 0):
        assert services.send_held_prompts() == 1
    [sent] = outbox
    assert "reminders and offers by text and calls" in sent["body"]


def test_in_the_daytime_the_prompt_goes_at_once(outbox):
    ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 8, 0):
        said = services.ask_to_confirm(PHONE, [Channel.SMS])
    assert said == "A text asked the number to reply YES within 30 days to confirm it."
    assert len(outbox) == 1
    assert ConfirmationPrompt.objects.get().send_at is None


def test_an_import_at_night_holds_its_prompts_until_each_number_s_morning(
    outbox, django_capture_on_commit_callbacks
):
    """At 19:30 in San Francisco it is 22:30 in New York: the New York number's text waits
    until 08:00 there, the San Francisco one goes."""
    data = (
        b"Name,Phone,Consent to,Consent method,Consent date,Confirm by text\n"
        b"Ana,(415) 555-0101,sms,web form,2025-03-01,yes\n"
        b"Ben,(212) 555-0102,sms,web form,2025-03-01,yes\n"
    )
    with at(7, 19, 30):
        contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
        imports.check(contact_import)
        assert imports.start_applying(contact_import)
        with django_capture_on_commit_callbacks(execute=True):  # as each batch commits
            imports.apply(contact_import)
    assert [message["to"] for message in outbox] == ["+14155550101"]
    held = ConfirmationPrompt.objects.get(sent_at=None)
    assert held.phone == "+12125550102"
    assert held.send_at == datetime(2026, 12, 8, 8, tzinfo=ZoneInfo("America/New_York"))
    with at(8, 5, 0):  # 08:00 in New York
        assert services.send_held_prompts() == 1
    assert [message["to"] for message in outbox] == ["+14155550101", "+12125550102"]


def test_a_held_prompt_is_checked_again_before_it_goes(admin_client, outbox):
    """A STOP, a contact made inactive or a report of reassignment while it is held: it is
    not sent, and keeps why."""
    stopped, inactive, reassigned = "+14155550101", "+14155550102", "+14155550103"
    for phone in (stopped, inactive, reassigned):
        ContactFactory(phone=phone)
        awaiting(phone)
        with at(7, 23, 0):
            services.ask_to_confirm(phone, [Channel.SMS])
    services.record_hard_opt_out(phone=stopped, channel=Channel.SMS, source=Source.KEYWORD)
    Contact.objects.filter(phone=inactive).update(status=Contact.Status.DO_NOT_CONTACT)
    services.record_reassigned(phone=reassigned, how="reply", words="Wrong number")
    with at(8, 9, 0):
        assert services.send_held_prompts() == 3
    assert not outbox
    not_sent = dict(ConfirmationPrompt.objects.values_list("phone", "not_sent"))
    assert not_sent[stopped] == "the number opted out of texts."
    assert not_sent[inactive] == "a contact with the number is not active."
    assert not_sent[reassigned].startswith("the number was reported reassigned (replied")
    assert not ConfirmationPrompt.objects.filter(sent_at__isnull=False).exists()
    contact = Contact.objects.get(phone=stopped)
    page = admin_client.get(contact.get_absolute_url()).content.decode()
    assert "The text asking the number to confirm: not sent: the number opted out of texts." in page
    with at(9, 9, 0):
        assert services.send_held_prompts() == 0  # not tried again


def test_a_held_prompt_waits_again_if_its_hours_moved(outbox):
    """A contact with the number now says it is in Florida: at 08:00 Pacific it is 11:00
    there, and both windows are open; at 20:30 Eastern, Florida's has closed."""
    ContactFactory(phone=PHONE)
    with at(7, 22, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    ContactFactory(phone=PHONE, state="FL", time_zone="America/New_York")
    with at(8, 17, 30):  # 20:30 in Florida
        ConfirmationPrompt.objects.update(send_at=datetime(2026, 12, 8, 17, tzinfo=PACIFIC))
        assert services.send_held_prompts() == 1
    assert not outbox
    prompt = ConfirmationPrompt.objects.get()
    assert prompt.send_at == datetime(2026, 12, 9, 8, tzinfo=PACIFIC)  # 11:00 in Florida
    assert prompt.sent_at is None and prompt.not_sent == ""
    with at(9, 8, 0):
        assert services.send_held_prompts() == 1
    assert len(outbox) == 1


def test_no_prompt_where_the_quiet_hours_never_end(outbox):
    """A Sydney number whose contact says Florida: no hour is open in both."""
    ContactFactory(phone="+61298765432", state="FL")
    with at(7, 12, 0):
        said = services.ask_to_confirm("+61298765432", [Channel.SMS])
    assert said.startswith("No text asked to confirm it: the number's quiet hours never end (")
    assert not outbox and not ConfirmationPrompt.objects.exists()


def test_without_quiet_hours_a_prompt_goes_at_any_hour(settings, outbox):
    settings.QUIET_HOURS = None
    ContactFactory(phone=PHONE)
    with at(7, 3, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    assert len(outbox) == 1


def committed(function) -> None:
    """Run `function` on a connection of its own: what it writes is committed."""
    on_its_own_connection(function).join(LONG)


@pytest.fixture
def committed_prompts():
    """Prompts and outbox rows committed by a test's threads, deleted after it (numbers no
    contact has, so nothing else is written)."""
    yield
    committed(lambda: ConfirmationPrompt.objects.all().delete())
    committed(lambda: OutboundMessage.objects.all().delete())


@pytest.mark.postgres
def test_workers_sending_at_once_send_each_held_prompt_once(committed_prompts, outbox):
    phones = [f"+1415555{n:04d}" for n in range(30)]
    with at(7, 23, 0):
        committed(lambda: [services.ask_to_confirm(phone, [Channel.SMS]) for phone in phones])
    assert ConfirmationPrompt.objects.filter(sent_at=None).count() == 30
    taken = []
    with at(8, 9, 0):
        workers = [
            on_its_own_connection(lambda: taken.append(services.send_held_prompts()))
            for _ in range(3)
        ]
        for worker in workers:
            worker.join(LONG)
    assert sum(taken) == 30
    assert sorted(message["to"] for message in outbox) == phones
    assert not ConfirmationPrompt.objects.filter(sent_at=None).exists()


@pytest.mark.postgres
def test_a_prompt_holds_its_number_while_it_is_handed_over(committed_prompts, outbox, monkeypatch):
    """As a broadcast's send does: a STOP (which takes the number's lock exclusively) waits
    until the prompt is handed over, or commits before the prompt's checks."""
    inside, release = threading.Event(), threading.Event()
    keep = LocmemBackend.keep

    def slow(self, kind, to, body, *, sid):
        inside.set()
        release.wait(LONG)
        return keep(self, kind, to, body, sid=sid)

    def stop_may_go() -> list[bool]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [PHONE])
            return cursor.fetchone()[0]

    monkeypatch.setattr(LocmemBackend, "keep", slow)
    try:
        with at(7, 9, 0):
            prompting = on_its_own_connection(lambda: services.ask_to_confirm(PHONE, ["sms"]))
            assert inside.wait(LONG)
            answers = []
            committed(lambda: answers.append(stop_may_go()))
            release.set()
            prompting.join(LONG)
            committed(lambda: answers.append(stop_may_go()))
    finally:
        release.set()
    assert answers == [False, True]
    assert len(outbox) == 1
