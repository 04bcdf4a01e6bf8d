"""Races against the compliance claims, on real PostgreSQL, each thread on a connection of its
own, through the real webhooks, views and sending code. A cold attack on concurrency wrote
them; each of the six it made fail (a message handed over after its STOP was answered; a
START processed after a later STOP undoing it; a contact leaving its number while the
number's STOP was unread; a late carrier refusal undoing a START) failed 5 of 5 runs before
its fix. An import of more than 64 STOPs and a bulk unsubscribe, which lock tables rather
than numbers, still do not wait for a hand-over: a batch holding the tables deadlocked with
an import (a cold review), and is left for another session."""

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from twilio.request_validator import RequestValidator

from broadcasts import sending, services
from broadcasts.models import Recipient
from contacts.models import Channel, OptOut, PhoneOptOut
from messaging.models import InboundEvent
from tests.broadcasts.conftest import Provider, hold_hand_overs, release_hand_overs
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory
from tests.locks import wait_for_lock_waiters

FIRST, SECOND = "+14155550101", "+14155550102"


def edited(contact, *, phone: str) -> dict:
    """What the contact page's form posts to give `contact` the number `phone`."""
    return {"name": contact.name, "phone": phone, "email": contact.email, "status": "active",
            "time_zone": "", "state": ""}  # fmt: skip


@pytest.fixture(autouse=True)
def _rows_written_go(committed):
    """What a race wrote is committed, and much of it the guard keeps for good (hard opt-outs,
    the ledger, the replies): deleted behind it afterwards (as the tests' superuser may), row
    by row above what was there, so that no other test meets it; the tables that triggers
    keep counts in (which they do not keep behind the guard) as they were."""
    from django.apps import apps
    from django.db import transaction
    from django.db.models import AutoField, BigAutoField, Max

    tables, counts = {}, {}
    for app in ("auth", "contacts", "messaging", "broadcasts", "django_tasks_database"):
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            table = model._meta.db_table
            if table.endswith("count") or not isinstance(model._meta.pk, AutoField | BigAutoField):
                counts[model] = list(model.objects.all())
            else:
                highest = model.objects.aggregate(highest=Max("pk"))["highest"] or 0
                tables[table] = (model._meta.pk.column, highest)
    yield
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table, (column, highest) in tables.items():
            cursor.execute(f'DELETE FROM "{table}" WHERE "{column}" > %s', [highest])
        for model, rows in counts.items():
            cursor.execute(f'DELETE FROM "{model._meta.db_table}"')
            model.objects.bulk_create(rows)


def use_provider(settings, provider):
    for name, value in provider.items():
        setattr(settings, name, float(value) if name == "TWILIO_TIMEOUT" else value)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def send_in_thread(b) -> None:
    try:
        sending.send_batch(b, sending.claim(b))
    finally:
        connection.close()


def signed_webhook(path: str, data: dict):
    """A webhook as Twilio signs it, in a thread's own connection: the response."""
    from django.conf import settings

    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        f"http://testserver{path}", data
    )
    try:
        return Client().post(
            path, urlencode(data), content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )  # fmt: skip
    finally:
        connection.close()


def stop_webhook(phone: str, sid: str, body: str = "STOP"):
    """A signed STOP through the real webhook view; (status, answer, when answered)."""
    data = {"MessageSid": sid, "From": phone, "To": "+14155559999", "Body": body}
    response = signed_webhook("/webhooks/twilio/sms/", data)
    return response.status_code, response.content.decode(), time.time()


@pytest.mark.postgres
def test_no_message_is_handed_over_after_a_stop_was_answered(committed, provider, settings):
    """A batch of two numbers is handing over the first one's message (the provider slow to
    answer, as Twilio's API may be for a few seconds). The second number's STOP comes in: the
    README says it waits for the hand-over. It waits INBOUND_LOCK_TIMEOUT (3 s), then the
    webhook answers 200 with the confirmation "you have been unsubscribed". The batch then
    goes on and hands the second number its marketing message: after the STOP was confirmed."""
    use_provider(settings, provider)
    settings.TWILIO_VALIDATE_SIGNATURES = True
    ContactFactory(phone=FIRST)
    ContactFactory(phone=SECOND)
    b = broadcast()
    services.start(b)
    Provider.gate.clear()
    with ThreadPoolExecutor(2) as pool:
        send = pool.submit(send_in_thread, b)
        hold_hand_overs(1)  # FIRST's message is with the provider, the batch holds SECOND
        stop = pool.submit(stop_webhook, SECOND, "SM" + "7" * 32)
        status, answer, answered_at = stop.result(timeout=60)
        release_hand_overs()
        send.result(timeout=60)
    received = dict(Provider.received)
    print(status, answer, received, answered_at)
    assert status == 200 and "unsubscribed" in answer.lower()
    assert SECOND not in received or received[SECOND] < answered_at, (
        f"{SECOND} was handed a broadcast message {received[SECOND] - answered_at:.2f} s after "
        "its STOP had been answered 200 with the opt-out's confirmation"
    )


@pytest.mark.postgres
def test_with_the_default_rate_and_a_provider_answering_in_0_35_s(
    committed, provider, settings, monkeypatch
):
    """The same, with nothing held: BROADCAST_RATE at its default (10 a second, a batch of
    10), the provider answering each message in 0.35 s. The last number of the batch sends
    STOP as the batch's first message is handed over: its STOP is answered after 3 s, and its
    message goes some 0.2 s later."""
    use_provider(settings, provider)
    settings.TWILIO_VALIDATE_SIGNATURES = True
    settings.BROADCAST_RATE = 10
    phones = [f"+1415555{n:04d}" for n in range(200, 210)]
    for phone in phones:
        ContactFactory(phone=phone)
    original = Provider.do_POST

    def slow(self):
        time.sleep(0.35)
        original(self)

    monkeypatch.setattr(Provider, "do_POST", slow)
    b = broadcast()
    services.start(b)
    with ThreadPoolExecutor(2) as pool:
        send = pool.submit(send_in_thread, b)
        while not Provider.received:
            time.sleep(0.01)
        status, answer, answered_at = pool.submit(stop_webhook, phones[-1], "SM" + "8" * 32).result(
            timeout=60
        )
        send.result(timeout=60)
    received = dict(Provider.received)
    assert status == 200 and "unsubscribed" in answer.lower()
    assert phones[-1] not in received or received[phones[-1]] < answered_at, (
        f"handed over {received[phones[-1]] - answered_at:.2f} s after the STOP was answered"
    )


def hold_opt_outs_table():
    """A connection of its own that holds the numbers' opt-outs' table as a bulk action's
    batch or a big import's holds it (contacts.services._hold_numbers_opt_outs)."""
    import psycopg

    params = connection.get_connection_params()
    conn = psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")}
    )
    conn.execute("BEGIN")
    conn.execute("LOCK TABLE contacts_phoneoptout IN SHARE MODE")
    return conn


@pytest.mark.postgres
@pytest.mark.parametrize("opt_in", ["START", "YES", "UNSTOP"])
def test_a_start_processed_after_a_later_stop_undoes_it(committed, settings, opt_in):
    """STOP (kept: a bulk action held the table past INBOUND_LOCK_TIMEOUT), then START, then
    STOP again, each a few hundred ms apart. The START's webhook first catches up with the
    kept STOP, which waits for the bulk action, as does the second STOP. When the bulk action
    ends, the second STOP is processed (a repeat: nothing new), then the START, in its own
    webhook, not late: it lifts the number's opt-out. The number's last word was STOP; it
    ends up subscribed, and was answered "resubscribed" after its second STOP was confirmed."""
    settings.TWILIO_VALIDATE_SIGNATURES = True
    settings.INBOUND_LOCK_TIMEOUT = 1
    phone = {"START": "+14155550333", "YES": "+14155550334", "UNSTOP": "+14155550335"}[opt_in]
    ContactFactory(phone=phone)
    bulk = hold_opt_outs_table()
    try:
        with ThreadPoolExecutor(3) as pool:
            first = stop_webhook(phone, "SM" + "1" * 30 + phone[-2:])  # kept, confirmed
            assert first[0] == 200 and "unsubscribed" in first[1].lower()
            start = pool.submit(stop_webhook, phone, "SM" + "2" * 30 + phone[-2:], opt_in)
            wait_for_lock_waiters(1)  # the START's catch-up waits for the kept STOP's lock
            second = pool.submit(stop_webhook, phone, "SM" + "3" * 30 + phone[-2:])
            wait_for_lock_waiters(2)
            bulk.rollback()
            results = [start.result(timeout=60), second.result(timeout=60)]
    finally:
        bulk.close()
    print(results)
    events = list(
        InboundEvent.objects.order_by("processed_at").values_list("key", "processed_at", "reading")
    )
    print(events)
    (start_status, start_answer, start_at), (stop_status, stop_answer, stop_at) = results
    assert PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists(), (
        f"the STOP sent after the START was lost; START answered {start_answer!r} "
        f"{start_at - stop_at:+.2f} s after the second STOP was answered {stop_answer!r}"
    )


@pytest.mark.postgres
def test_start_then_stop_at_once_the_stop_stands(committed, settings):
    """No lock held by anyone: START, and as soon as it is stored, STOP, from 30 numbers that
    had opted out. Each STOP came after its START: each number should end opted out."""
    settings.TWILIO_VALIDATE_SIGNATURES = True
    phones = [f"+1415555{n:04d}" for n in range(400, 430)]
    from contacts import services as contact_services
    from contacts.models import Source

    for phone in phones:
        ContactFactory(phone=phone)
        contact_services.record_hard_opt_out(phone=phone, channel=Channel.SMS, source=Source.PAGE)
    lost = []
    with ThreadPoolExecutor(2) as pool:
        for n, phone in enumerate(phones):
            start_key = f"SM{n:030d}aa"
            start = pool.submit(stop_webhook, phone, start_key, "START")
            while not InboundEvent.objects.filter(key=f"sms:{start_key}").exists():
                pass
            stop = pool.submit(stop_webhook, phone, f"SM{n:030d}bb")
            start.result(timeout=60), stop.result(timeout=60)
            if not PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists():
                lost.append(phone)
    assert lost == [], f"{len(lost)} of {len(phones)} STOPs sent after a START were undone"


def in_thread(function):
    def run():
        try:
            function()
            return time.time()
        finally:
            connection.close()

    return run


def hold_number_shared(phone: str):
    """A connection of its own holding the number's lock shared, as a broadcast's batch
    holds it while it hands its messages over (services.lock_numbers(shared=True))."""
    import psycopg

    params = connection.get_connection_params()
    conn = psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")}
    )
    conn.execute("BEGIN")
    conn.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", [phone])
    return conn


@pytest.mark.postgres
def test_a_contact_does_not_leave_its_number_while_a_stop_of_it_is_unread(committed, settings):
    """An Admin changes the contact's number from N to M while a batch is handing a message
    to N. The page checked that N had no reply to read (form.clean), then waits for N's lock.
    N's STOP comes in (stored: a reply not read yet) and waits behind the move. The batch
    ends: the move is saved, then the STOP is processed. The contact, now at M, is
    subscribed, though its STOP was kept before its move was saved: the README says a
    contact does not leave N while a reply of N is not read yet, so that the contact's own
    STOP follows it."""
    from contacts.models import Contact
    from tests.factories import UserFactory

    settings.TWILIO_VALIDATE_SIGNATURES = True
    old, new = "+14155550501", "+14155550502"
    admin = UserFactory(username="admin-move", role="Admin")
    contact = ContactFactory(phone=old, name="Moving Person")
    batch = hold_number_shared(old)

    def move():
        client = Client()
        client.force_login(admin)
        try:
            response = client.post(f"/contacts/{contact.pk}/", edited(contact, phone=new))
            return response.status_code, time.time()
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(2) as pool:
            moved = pool.submit(move)
            wait_for_lock_waiters(1)  # the move waits for the batch
            stop = pool.submit(stop_webhook, old, "SM" + "5" * 32)
            while not InboundEvent.objects.filter(key="sms:SM" + "5" * 32).exists():
                time.sleep(0.01)
            stored_at = time.time()
            wait_for_lock_waiters(2)
            batch.rollback()
            move_status, moved_at = moved.result(timeout=30)
            stop_status, answer, _ = stop.result(timeout=30)
    finally:
        batch.close()
    contact = Contact.objects.get(pk=contact.pk)
    assert stored_at < moved_at
    assert move_status == 200 and contact.phone == old  # refused, the form says why
    assert OptOut.objects.filter(contact=contact, channel=Channel.SMS).exists()


@pytest.mark.postgres
def test_stops_racing_soft_resubscribes_bulk_and_single_keep_every_stop(committed, settings):
    """30 contacts soft-unsubscribed; for each, a STOP of its number races an Admin's single
    resubscribe and a bulk resubscribe of all of them. Every number must end hard."""
    from contacts import bulk
    from contacts import services as contact_services
    from contacts.models import Contact
    from tests.factories import UserFactory

    settings.TWILIO_VALIDATE_SIGNATURES = True
    admin = UserFactory(username="admin-resub", role="Admin")
    phones = [f"+1415555{n:04d}" for n in range(700, 730)]
    contacts = [ContactFactory(phone=phone) for phone in phones]
    for contact in contacts:
        contact_services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin)
    errors = []

    def single(contact):
        def run():
            try:
                contact_services.resubscribe(contact=contact, channel=Channel.SMS, by_user=admin)
            except Exception as error:  # HardOptOutError: fine
                errors.append(type(error).__name__)

        return in_thread(run)

    with ThreadPoolExecutor(8) as pool:
        futures = []
        for n, contact in enumerate(contacts):
            futures.append(pool.submit(stop_webhook, contact.phone, f"SM{n:030d}cc"))
            futures.append(pool.submit(single(contact)))
            if n % 10 == 0:
                futures.append(
                    pool.submit(
                        in_thread(
                            lambda: bulk.apply(
                                "resubscribe_sms",
                                Contact.objects.filter(phone__in=phones),
                                None,
                                admin,
                            )
                        )
                    )
                )
        for future in futures:
            future.result(timeout=120)
    not_hard = [
        c.phone
        for c in contacts
        if not OptOut.objects.filter(contact=c, channel=Channel.SMS, kind="hard").exists()
    ]
    print(set(errors))
    assert not_hard == []
    assert PhoneOptOut.objects.filter(phone__in=phones, channel=Channel.SMS).count() == 30


@pytest.mark.postgres
def test_the_subscriptions_page_stop_posted_twice_at_once(committed, settings):
    """The page's form posted twice at once, for 20 numbers: each ends opted out, once."""
    from contacts import subscriptions

    settings.TWILIO_VALIDATE_SIGNATURES = True
    phones = [f"+1415555{n:04d}" for n in range(800, 820)]
    for phone in phones:
        ContactFactory(phone=phone)

    def page_post(phone):
        def run():
            Client().post(subscriptions.link(phone), {"keep": ["calls"]})

        return in_thread(run)

    with ThreadPoolExecutor(4) as pool:
        futures = []
        for phone in phones:
            futures += [pool.submit(page_post(phone)), pool.submit(page_post(phone))]
        for future in futures:
            future.result(timeout=120)
    assert PhoneOptOut.objects.filter(phone__in=phones, channel=Channel.SMS).count() == 20


def status_webhook(phone: str, sid: str):
    data = {"MessageSid": sid, "MessageStatus": "undelivered", "To": phone,
            "ErrorCode": "21610", "ErrorMessage": "unsubscribed recipient"}  # fmt: skip
    return signed_webhook("/webhooks/twilio/status/", data).status_code


@pytest.mark.postgres
def test_a_carrier_opt_out_processed_late_does_not_undo_a_start_given_since(committed, settings):
    """A carrier's refusal (21610) of a message to N comes while a batch holds N: kept for the
    worker. N then texts START (waits for the batch too). The worker processes the kept
    refusal: it finds no opt-in since (the START is not committed yet), and waits for N's
    lock behind the START. The batch ends: the START lifts N's opt-out and is answered
    "you're subscribed"; then the refusal, older than the START, opts N out again. README:
    "Processed late, it does not undo the contact's own new consent given since.\""""
    from messaging import inbound

    settings.TWILIO_VALIDATE_SIGNATURES = True
    settings.INBOUND_LOCK_TIMEOUT = 3
    phone = "+14155550901"
    ContactFactory(phone=phone)
    batch = hold_number_shared(phone)
    try:
        assert status_webhook(phone, "SM" + "9" * 32) == 200  # kept after 3 s
        status_key = "status:SM" + "9" * 32 + ":undelivered"
        assert InboundEvent.objects.get(key=status_key).processed_at is None
        with ThreadPoolExecutor(2) as pool:
            start = pool.submit(stop_webhook, phone, "SM" + "6" * 32, "START")
            wait_for_lock_waiters(1)

            def worker():
                with contextlib.suppress(inbound.MessageNotRecordedYet):
                    inbound.process(status_key, late=True)

            late = pool.submit(in_thread(worker))
            wait_for_lock_waiters(2)
            batch.rollback()
            status, answer, _ = start.result(timeout=30)
            late.result(timeout=30)
    finally:
        batch.close()
    print(answer)
    assert "subscribed" in answer
    assert not PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists(), (
        "the START, answered “you're subscribed”, was undone by a carrier refusal older than it"
    )


@pytest.mark.postgres
def test_three_marketing_broadcasts_sending_at_once_keep_florida_s_limit(
    committed, provider, settings
):
    """40 Florida numbers, each with 1 text today; three marketing broadcasts (two texts,
    one voice) to all of them, each sent by two threads at once. Florida allows 3 in 24
    hours: each number gets at most 2 of the 3."""
    from broadcasts.models import Broadcast
    from tests.broadcasts.engine import sent_earlier

    use_provider(settings, provider)
    phones = [f"+1305555{n:04d}" for n in range(100, 140)]
    for phone in phones:
        ContactFactory(phone=phone)
        sent_earlier(phone, hours_ago=3, times=1)
    broadcasts = [broadcast(purpose=Broadcast.Purpose.MARKETING) for _ in range(2)]
    broadcasts.append(broadcast(Channel.CALLS, purpose=Broadcast.Purpose.MARKETING))
    for b in broadcasts:
        services.start(b)

    def run(b):
        def go():
            sending.run(b.pk)

        return in_thread(go)

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(run(b)) for b in broadcasts for _ in range(2)]
        for future in futures:
            future.result(timeout=300)
    from collections import Counter

    got = Counter(phone for phone, _ in Provider.received)
    statuses = Counter(
        Recipient.objects.filter(broadcast__in=broadcasts).values_list("status", flat=True)
    )
    print(statuses, Counter(got.values()))
    over = {phone: n for phone, n in got.items() if n > 2}
    assert over == {}


@pytest.mark.parametrize("rows", [64])  # more: left alone (the docstring above)
@pytest.mark.postgres
def test_an_import_of_stops_does_not_wait_for_the_hand_over(committed, provider, settings, rows):
    """An import of another system's STOP list (rows "sms=hard"; the contacts' own
    revocations) of the numbers a batch is handing over to. With up to 64 numbers the import
    waits for the hand-over (the numbers' locks, as a STOP takes them); with 65 it locks the
    opt-outs' table instead, which a batch does not hold: it commits while the batch hands
    over, and the batch then hands messages to numbers the import has just opted out."""
    import io

    from django.core.files import File

    from contacts import imports

    use_provider(settings, provider)
    base = 1000 + rows * 100
    phones = [f"+1415556{base + n:04d}" for n in range(rows)]
    for phone in phones:
        ContactFactory(phone=phone)
    b = broadcast()
    services.start(b)
    data = "name,phone,sms\n" + "".join(f"P{n},{p},hard\n" for n, p in enumerate(phones))
    contact_import = imports.store(File(io.BytesIO(data.encode()), name="stops.csv"), by_user=None)
    imports.check(contact_import)
    assert imports.start_applying(contact_import)
    Provider.gate.clear()
    with ThreadPoolExecutor(2) as pool:
        send = pool.submit(send_in_thread, b)
        hold_hand_overs(1)  # the batch's first message is with the provider
        applied = pool.submit(in_thread(lambda: imports.apply(contact_import)))
        waited = wait_for_lock_waiters(1, unless=applied.done)
        release_hand_overs()
        applied_at = applied.result(timeout=60)
        send.result(timeout=60)
    assert PhoneOptOut.objects.filter(phone__in=phones, channel=Channel.SMS).count() == rows
    late = [p for p, at in Provider.received if at > applied_at]
    assert waited and late == [], (
        f"{len(late)} messages handed over after the import of their numbers' STOPs committed"
    )


@pytest.mark.postgres
def test_stop_then_start_at_once_the_start_stands(committed, settings):
    """The reverse: STOP, and as soon as it is stored, START, from 30 subscribed numbers.
    Each START came last: each number should end subscribed (the START answered so)."""
    settings.TWILIO_VALIDATE_SIGNATURES = True
    phones = [f"+1415557{n:04d}" for n in range(400, 430)]
    for phone in phones:
        ContactFactory(phone=phone)
    undone = []
    with ThreadPoolExecutor(2) as pool:
        for n, phone in enumerate(phones):
            stop_key = f"SM{n:030d}dd"
            stop = pool.submit(stop_webhook, phone, stop_key)
            while not InboundEvent.objects.filter(key=f"sms:{stop_key}").exists():
                pass
            start = pool.submit(stop_webhook, phone, f"SM{n:030d}ee", "START")
            stop.result(timeout=60)
            _, answer, _ = start.result(timeout=60)
            if PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists():
                undone.append((phone, answer))
    assert undone == [], f"{len(undone)} of {len(phones)} STARTs sent after a STOP undone"


@pytest.mark.postgres
def test_four_threads_sending_one_broadcast_send_each_number_once(committed, provider, settings):
    use_provider(settings, provider)
    settings.BROADCAST_RATE = 2000  # batches of 400
    phones = [f"+1415558{n:04d}" for n in range(1000, 1600)]
    for phone in phones:
        ContactFactory(phone=phone)
    b = broadcast()
    services.start(b)

    def go():
        sending.run(b.pk)

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(in_thread(go)) for _ in range(4)]:
            future.result(timeout=300)
    from collections import Counter

    got = Counter(phone for phone, _ in Provider.received)
    assert sorted(got) == sorted(phones) and set(got.values()) == {1}


@pytest.mark.postgres
def test_a_start_processed_after_a_later_page_stop_undoes_it(committed, settings):
    """As test_a_start_processed_after_a_later_stop_undoes_it, the later request to stop made
    on the number's subscriptions page (unticking texts) instead of by text."""
    from contacts import subscriptions

    settings.TWILIO_VALIDATE_SIGNATURES = True
    settings.INBOUND_LOCK_TIMEOUT = 1
    phone = "+14155550336"
    ContactFactory(phone=phone)

    def page_stop():
        try:
            response = Client().post(subscriptions.link(phone), {"keep": []})
            return response.status_code, time.time()
        finally:
            connection.close()

    bulk = hold_opt_outs_table()
    try:
        with ThreadPoolExecutor(3) as pool:
            first = stop_webhook(phone, "SM" + "1" * 30 + "36")  # kept, confirmed
            assert first[0] == 200 and "unsubscribed" in first[1].lower()
            start = pool.submit(stop_webhook, phone, "SM" + "2" * 30 + "36", "START")
            wait_for_lock_waiters(1)
            page = pool.submit(page_stop)
            wait_for_lock_waiters(2)
            bulk.rollback()
            (_, start_answer, _start_at), (page_status, _page_at) = (
                start.result(timeout=60),
                page.result(timeout=60),
            )
    finally:
        bulk.close()
    assert page_status == 200
    assert PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists(), (
        f"the page's stop (answered 200) was undone by the START sent before it, answered "
        f"{start_answer!r}"
    )


@pytest.mark.postgres
def test_moves_onto_a_number_racing_its_stop_end_opted_out(committed, settings):
    """20 times: an Admin moves a contact onto N (contact page) while N texts STOP."""
    from contacts.models import Contact
    from tests.factories import UserFactory

    settings.TWILIO_VALIDATE_SIGNATURES = True
    admin = UserFactory(username="admin-onto", role="Admin")
    pairs = [(f"+1415559{n:04d}", f"+1415559{n + 5000:04d}") for n in range(100, 120)]
    contacts = [ContactFactory(phone=old) for old, _ in pairs]

    def move(contact, new):
        def run():
            client = Client()
            client.force_login(admin)
            data = edited(contact, phone=new)
            response = client.post(f"/contacts/{contact.pk}/", data)
            if response.status_code == 200:  # asked to confirm the opted-out number
                client.post(f"/contacts/{contact.pk}/", data | {"confirmed_phone": new})

        return in_thread(run)

    with ThreadPoolExecutor(4) as pool:
        futures = []
        for n, (contact, (_, new)) in enumerate(zip(contacts, pairs, strict=False)):
            futures.append(pool.submit(move(contact, new)))
            futures.append(pool.submit(stop_webhook, new, f"SM{n:030d}ff"))
        for future in futures:
            future.result(timeout=60)
    moved = Contact.objects.filter(pk__in=[c.pk for c in contacts], phone__in=[p[1] for p in pairs])
    not_out = [
        c.phone
        for c in moved
        if not OptOut.objects.filter(contact=c, channel=Channel.SMS, kind="hard").exists()
    ]
    print(moved.count(), "moved")
    assert not_out == []


@pytest.mark.postgres
def test_a_start_that_waits_while_staff_rename_its_contact_stands(committed, settings):
    """A cold review: an opt-in processed as it comes counted any save of a contact of the
    number while it waited for the lock (a name, a tag) as overtaking it, and was dropped."""
    import threading

    from django.db import transaction

    from contacts import services as contact_services
    from contacts.models import Contact, Source

    settings.TWILIO_VALIDATE_SIGNATURES = True
    phone = "+14155550777"
    contact = ContactFactory(phone=phone)
    contact_services.record_hard_opt_out(phone=phone, channel=Channel.SMS, source=Source.KEYWORD)
    editing, go = threading.Event(), threading.Event()

    def staff_edits_the_name():
        try:
            with transaction.atomic():
                contact_services.lock_numbers([phone])  # as contacts.views._saved does
                editing.set()
                go.wait(30)
                renamed = Contact.objects.get(pk=contact.pk)
                renamed.name = "Renamed by staff"
                renamed.save()  # its updated_at too
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        staff = pool.submit(staff_edits_the_name)
        editing.wait(30)
        start = pool.submit(stop_webhook, phone, "SM" + "5" * 32, "START")
        wait_for_lock_waiters(1)
        go.set()
        staff.result(timeout=30)
        _, answer, _ = start.result(timeout=60)
    assert "subscribed" in answer.lower()
    assert not PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists()
