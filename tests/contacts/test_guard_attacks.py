"""Issue 17's attacks on the hard opt-out guard, each tried as written and refused.

A ledger row alone is not proof of new consent; the database, not the writer, decides which
ledger row is newest; a TEMP table cannot stand in for a guarded one; opt-outs follow the
contact who made them to a new number; and only a real number is stored.
"""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts import services
from contacts.models import (
    Channel,
    ConsentEvent,
    Contact,
    OptIn,
    OptInStatus,
    OptOut,
    PhoneOptOut,
    Source,
)
from messaging.models import InboundEvent
from tests.crm.test_database_role import as_role
from tests.factories import ContactFactory, reply_start, store_old_phone

SMS, CALLS = Channel.SMS, Channel.CALLS
N0, N1, N2 = "+14155550100", "+14155550111", "+14155550122"
README = Path(__file__).resolve().parents[2] / "README.md"


def status(contact: Contact, channel: Channel = SMS) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


def number_opted_out(phone: str, channel: Channel = SMS) -> bool:
    return PhoneOptOut.objects.filter(phone=phone, channel=channel).exists()


def stop(phone: str, channel: Channel = SMS) -> None:
    source = Source.KEYWORD if channel == SMS else Source.DIGIT
    services.record_hard_opt_out(phone=phone, channel=channel, source=source, words="STOP")


@pytest.fixture
def stopped(db) -> Contact:
    contact = ContactFactory(phone=N0)
    stop(N0)
    return contact


def refused(match: str = "cannot be reversed|new consent must name|append-only|next id"):
    return pytest.raises(IntegrityError, match=match)


# Hole 2: a forged ledger row unlocks nothing, on either engine.


def test_a_forged_start_in_the_ledger_is_refused(stopped):
    for contact in (stopped, None):
        with refused("new consent must name"), transaction.atomic():
            ConsentEvent.objects.create(
                contact=contact, phone=N0, channel=SMS, before=OptInStatus.HARD,
                after=OptInStatus.SUBSCRIBED, source=Source.KEYWORD,
            )  # fmt: skip
    with refused(), transaction.atomic():
        OptOut.objects.filter(contact=stopped).delete()
    with refused(), transaction.atomic():
        PhoneOptOut.objects.filter(phone=N0).delete()
    assert status(stopped) == OptInStatus.HARD and number_opted_out(N0)


def test_a_ledger_row_from_a_user_unlocks_nothing(stopped, admin_role_user):
    ConsentEvent.objects.create(
        contact=stopped, phone=N0, channel=SMS, before=OptInStatus.HARD,
        after=OptInStatus.SUBSCRIBED, source=Source.USER, actor=admin_role_user,
    )  # fmt: skip
    with refused(), transaction.atomic():
        OptOut.objects.filter(contact=stopped).delete()
    assert status(stopped) == OptInStatus.HARD


def received_start(phone: str, key: str = "sms:SM9", body: str = "START") -> None:
    """A START stored as the SMS webhook stores it, before it is processed."""
    InboundEvent.store(key=key, kind="sms", payload={"From": phone, "Body": body}, phone=phone)


def test_an_opt_in_lifts_only_its_own_number_and_channel(stopped):
    stop(N1)
    received_start(N1)
    opt_in = OptIn.objects.create(
        phone=N1, channel=SMS, source=Source.KEYWORD, words="START", reference="sms:SM9"
    )
    for phone, channel in ((N0, SMS), (N1, CALLS)):
        with refused("new consent must name"), transaction.atomic():
            ConsentEvent.objects.create(
                contact=None, phone=phone, channel=channel, before=OptInStatus.HARD,
                after=OptInStatus.SUBSCRIBED, source=Source.KEYWORD, opt_in=opt_in,
            )  # fmt: skip
    assert status(stopped) == OptInStatus.HARD and number_opted_out(N0)


def test_an_opt_in_that_is_not_a_start_or_a_digit_is_refused(db):
    for channel, source, words, phone in [
        (SMS, Source.KEYWORD, "please let me back in", N0),
        (SMS, Source.KEYWORD, "pressed 1", N0),
        (CALLS, Source.KEYWORD, "START", N0),
        (CALLS, Source.DIGIT, "pressed 12", N0),
        (SMS, Source.USER, "START", N0),
        (SMS, Source.KEYWORD, "START", "+112125550123"),
    ]:
        with refused("An opt-in"), transaction.atomic():
            OptIn.objects.create(
                phone=phone, channel=channel, source=source, words=words, reference="x"
            )
    assert not OptIn.objects.exists()


def test_an_applied_opt_in_cannot_lift_a_later_stop(stopped):
    reply_start(N0)
    assert status(stopped) == OptInStatus.SUBSCRIBED
    used = OptIn.objects.get()
    stop(N0)
    with refused("new consent must name"), transaction.atomic():
        ConsentEvent.objects.create(
            contact=None, phone=N0, channel=SMS, before=OptInStatus.HARD,
            after=OptInStatus.SUBSCRIBED, source=Source.KEYWORD, opt_in=used,
        )  # fmt: skip
    assert status(stopped) == OptInStatus.HARD


def test_an_opt_in_cannot_be_changed_or_deleted(stopped):
    reply_start(N0)
    opt_in = OptIn.objects.get()
    for change in ({"applied": False}, {"words": "STOP"}, {"phone": N1}):
        with refused("An opt-in is"), transaction.atomic():
            OptIn.objects.filter(pk=opt_in.pk).update(**change)
    with refused("An opt-in is"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_optin")
    assert OptIn.objects.get().applied


def test_an_opt_in_needs_its_own_unprocessed_start(stopped):
    received_start(N1, key="sms:SM1")  # another number's START
    received_start(N0, key="sms:SM2", body="STOP")  # this number's, but a STOP
    received_start(N0, key="sms:SM3")
    InboundEvent.objects.filter(key="sms:SM3").update(processed_at=timezone.now())
    for reference in ("sms:SM0", "sms:SM1", "sms:SM2", "sms:SM3"):
        with refused("An opt-in needs the inbound event"), transaction.atomic():
            OptIn.objects.create(
                phone=N0, channel=SMS, source=Source.KEYWORD, words="START", reference=reference
            )
    assert not OptIn.objects.exists() and status(stopped) == OptInStatus.HARD


def test_a_stored_event_keeps_what_was_received(stopped):
    reply_start(N0)
    event = InboundEvent.objects.get()
    InboundEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now())  # answered
    for change in ({"payload": {"From": N1, "Body": "START"}}, {"phone": N1},
                   {"processed_at": None}, {"kind": "digits"}):  # fmt: skip
        with refused("keeps what was received"), transaction.atomic():
            InboundEvent.objects.filter(pk=event.pk).update(**change)
    with refused("keeps what was received"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM messaging_inboundevent")
    assert InboundEvent.objects.values("payload", "phone").get() == {
        "payload": {"From": N0, "Body": "START"}, "phone": N0,
    }  # fmt: skip


@pytest.mark.sqlite
def test_insert_or_replace_of_a_stored_event_changes_nothing(stopped):
    received_start(N0, key="sms:SM5")
    InboundEvent.objects.filter(key="sms:SM5").update(processed_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT OR REPLACE INTO messaging_inboundevent (kind, key, payload, phone,"
            " received_at, response, error) VALUES ('sms', 'sms:SM5', '{}', %s, '2020-01-01',"
            " '', '')",
            [N0],
        )
    assert InboundEvent.objects.get(key="sms:SM5").processed_at is not None


# Hole 3: "newest" is the database's word.


@pytest.mark.postgres
def test_a_chosen_id_and_time_are_overwritten_on_postgres(stopped):
    forged = ConsentEvent.objects.create(
        id=9 * 10**18, at=timezone.now() + timezone.timedelta(days=3650), contact=stopped,
        phone=N0, channel=SMS, before=OptInStatus.HARD, after=OptInStatus.HARD,
        source=Source.USER,
    )  # fmt: skip
    assert forged.pk < 9 * 10**18
    assert ConsentEvent.objects.order_by("-id").first().pk == forged.pk
    assert ConsentEvent.objects.get(pk=forged.pk).at <= timezone.now()
    stop(N0, CALLS)  # a later STOP is newer than the forged row
    assert ConsentEvent.objects.order_by("-id").first().pk > forged.pk


@pytest.mark.sqlite
def test_a_chosen_id_is_refused_on_sqlite(stopped):
    with refused("next id"), transaction.atomic():
        ConsentEvent.objects.create(
            id=9 * 10**18, contact=stopped, phone=N0, channel=SMS, before=OptInStatus.HARD,
            after=OptInStatus.HARD, source=Source.USER,
        )  # fmt: skip
    assert ConsentEvent.objects.order_by("-id").first().pk < 1000


# Hole 1: TEMP tables cannot redirect the guard (PostgreSQL, as the application's role).


@pytest.mark.postgres
def test_temp_tables_cannot_stand_in_for_the_guarded_ones(stopped):
    as_role("crm_app_temp_test")
    with connection.cursor() as cursor:
        for table in ("contacts_contact", "contacts_consentevent", "contacts_phoneoptout",
                      "contacts_optin", "contacts_optout", "messaging_inboundevent"):  # fmt: skip
            cursor.execute(f"CREATE TEMP TABLE {table} (LIKE public.{table})")
        # A START that only a TEMP table has cannot back an opt-in.
        cursor.execute(
            "INSERT INTO pg_temp.messaging_inboundevent VALUES (1, 'sms', 'sms:SM7',"
            " jsonb_build_object('From', %s::text, 'Body', 'START'), now(), NULL, '', '', %s,"
            " '', NULL)",
            [N0, N0],
        )
        with refused("An opt-in needs the inbound event"), transaction.atomic():
            cursor.execute(
                "INSERT INTO public.contacts_optin (phone, channel, source, words, reference,"
                " at, applied) VALUES (%s, 'sms', 'keyword', 'START', 'sms:SM7', now(), false)",
                [N0],
            )
        # A fake opt-in and its lift, where an unqualified name would look.
        cursor.execute(
            "INSERT INTO pg_temp.contacts_optin VALUES (1, %s, 'sms', 'keyword', 'START', 'x',"
            " now(), false)",
            [N0],
        )
        cursor.execute(
            "INSERT INTO pg_temp.contacts_consentevent (id, at, contact_id, phone, channel,"
            " before, after, source, note, via, opt_in_id, matched, chain)"
            " VALUES (9, now(), %s, %s, 'sms', 'hard', 'subscribed', 'keyword', '', '', 1, '', ''),"
            " (10, now(), NULL, %s, 'sms', 'hard', 'subscribed', 'keyword', '', '', 1, '', '')",
            [stopped.pk, N0, N0],
        )
        for statement in (
            f"DELETE FROM public.contacts_optout WHERE contact_id = {stopped.pk}",
            "DELETE FROM public.contacts_phoneoptout",
        ):
            with refused(), transaction.atomic():
                cursor.execute(statement)
        cursor.execute(
            "INSERT INTO public.contacts_contact (name, phone, email, status, created_at,"
            " updated_at) VALUES ('Twin', %s, '', 'active', now(), now()) RETURNING id",
            [N0],
        )
        twin = cursor.fetchone()[0]
        cursor.execute(
            "SELECT kind FROM public.contacts_optout WHERE contact_id = %s AND channel = 'sms'",
            [twin],
        )
        assert cursor.fetchone() == ("hard",)
        cursor.execute("RESET ROLE")
        cursor.execute("DISCARD TEMP")
    assert status(stopped) == OptInStatus.HARD and number_opted_out(N0)


@pytest.mark.postgres
def test_the_readme_role_setup_takes_temp_tables_away(db):
    block = README.read_text().split("### Database roles")[1].split("```sql")[1].split("```")[0]
    revoke = re.search(r"^REVOKE TEMPORARY ON DATABASE crm FROM PUBLIC;$", block, re.M)
    assert revoke, "The README's role setup revokes TEMP from PUBLIC."
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(revoke.group().replace(" crm ", f" {database} "))
    as_role("crm_app_no_temp_test")
    with (
        pytest.raises(Exception, match="permission denied to create temporary tables"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("CREATE TEMP TABLE contacts_contact (id bigint)")


# Hole 5: a STOP belongs to its number; a moved contact carries the opt-outs it made.


def move(contact: Contact, phone: str) -> None:
    contact = Contact.objects.get(pk=contact.pk)
    contact.phone = phone
    contact.save()


def test_a_moved_contact_carries_its_opt_out_and_a_start_elsewhere_lifts_only_there(stopped):
    move(stopped, N1)
    assert number_opted_out(N1) and status(stopped) == OptInStatus.HARD
    carried = PhoneOptOut.objects.get(phone=N1)
    assert (carried.source, carried.words) == (Source.CARRIED, N0)
    move(stopped, N2)
    reply_start(N2)  # the Admin's own phone
    assert status(stopped) == OptInStatus.SUBSCRIBED
    assert number_opted_out(N0) and number_opted_out(N1) and not number_opted_out(N2)
    move(stopped, N1)
    assert status(stopped) == OptInStatus.HARD
    # Deleted and imported again at N1: still opted out, for the number is.
    stopped.delete()
    again = services.create_contact(name="Again", phone=N1)
    assert status(again) == OptInStatus.HARD


def test_a_contact_that_returns_to_a_number_it_held_carries_it_again(stopped):
    move(stopped, N1)
    move(stopped, N2)
    reply_start(N2)
    move(stopped, N1)
    move(stopped, "+14155550133")
    assert status(stopped) == OptInStatus.HARD
    assert PhoneOptOut.objects.get(phone="+14155550133").words == N1


def test_a_forged_row_of_the_number_does_not_stop_a_returning_contact_carrying_it(stopped):
    move(stopped, N2)
    reply_start(N2)
    ConsentEvent.objects.create(
        contact=None, phone=N0, channel=SMS, before=OptInStatus.HARD, after=OptInStatus.HARD,
        source=Source.IMPORT,
    )  # fmt: skip
    move(stopped, N0)
    move(stopped, "+14155550155")
    assert status(stopped) == OptInStatus.HARD
    assert number_opted_out("+14155550155")


def test_a_start_from_the_new_number_does_not_lift_the_old_one(stopped):
    move(stopped, N1)
    reply_start(N1)
    assert status(stopped) == OptInStatus.SUBSCRIBED
    assert number_opted_out(N0)
    assert status(ContactFactory(phone=N0)) == OptInStatus.HARD


def test_a_contact_that_never_held_the_number_is_free_once_it_moves_away(stopped, admin_role_user):
    typo = ContactFactory(phone=N2)
    services.unsubscribe(contact=typo, channel=CALLS, by_user=admin_role_user)
    move(typo, N0)  # a typo: N0 had opted out long before
    assert status(typo) == OptInStatus.HARD
    move(typo, N2)
    assert status(typo) == OptInStatus.SUBSCRIBED
    assert status(typo, CALLS) == OptInStatus.SOFT
    # Opted out softly of the channel itself before: soft again, by the same user.
    services.unsubscribe(contact=typo, channel=SMS, by_user=admin_role_user)
    move(typo, N0)
    assert status(typo) == OptInStatus.HARD
    move(typo, N2)
    assert status(typo) == OptInStatus.SOFT
    assert OptOut.objects.get(contact=typo, channel=SMS).actor == admin_role_user
    assert not number_opted_out(N2)
    assert number_opted_out(N0) and status(stopped) == OptInStatus.HARD


def test_a_stop_again_while_a_contact_has_the_number_is_that_contacts_own(stopped):
    newcomer = ContactFactory(phone=N0)  # inherits N0's opt-out
    services.record_hard_opt_out(phone=N0, channel=SMS, source=Source.KEYWORD, words="Stop!")
    row = OptOut.objects.get(contact=newcomer)
    assert (row.inherited, row.words) == (False, "Stop!")
    assert newcomer.consent_events.order_by("-id").first().how == "replied “Stop!”"
    move(newcomer, N2)  # it carries the opt-out now
    assert status(newcomer) == OptInStatus.HARD and number_opted_out(N2)


def test_a_held_opt_out_never_becomes_inherited_again(stopped):
    with refused(), transaction.atomic():
        OptOut.objects.filter(contact=stopped).update(inherited=True)
    with refused(), transaction.atomic():
        OptOut.objects.filter(contact=stopped).update(words="forged")


def test_an_inherited_opt_out_cannot_be_deleted_while_the_contact_has_the_number(stopped):
    twin = ContactFactory(phone=N0)
    with refused(), transaction.atomic():
        OptOut.objects.filter(contact=twin).delete()
    assert status(twin) == OptInStatus.HARD


def test_a_contact_cannot_take_another_id_and_leave_its_opt_out_behind(stopped):
    other = ContactFactory(phone=N1)
    for statement in (
        f"UPDATE contacts_contact SET id = {stopped.pk + 1000} WHERE id = {stopped.pk}",
        f"UPDATE contacts_contact SET id = -1 WHERE id = {other.pk}",
    ):
        with refused("id cannot change"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    if connection.vendor == "sqlite":  # rowid is the id under another name
        with refused("id cannot change"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE contacts_contact SET rowid = 99999 WHERE id = {stopped.pk}")
    with refused(), transaction.atomic():
        OptOut.objects.filter(contact_id=stopped.pk).delete()
    assert status(stopped) == OptInStatus.HARD


# Hole 6: SQLite's INSERT OR REPLACE cannot rewrite a number's opt-out.


@pytest.mark.sqlite
def test_insert_or_replace_of_a_numbers_opt_out_is_refused(stopped):
    before = PhoneOptOut.objects.values().get()
    with refused("opted out already"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT OR REPLACE INTO contacts_phoneoptout (phone, channel, opted_out_at, source,"
            " words) VALUES (%s, 'sms', '2020-01-01', 'import', 'forged')",
            [N0],
        )
    assert PhoneOptOut.objects.values().get() == before


# Hole 8: only canonical numbers are stored, and a lookalike never counts as reachable.


@pytest.mark.parametrize("phone", ["+112125550123", "+1 212 555 0123 ", "2125550123"])
def test_a_number_not_in_canonical_form_is_refused_by_every_orm_write(db, phone):
    contact = ContactFactory(phone="+12125550123")
    with pytest.raises(ValidationError), transaction.atomic():
        Contact.objects.create(name="X", phone=phone)
    with pytest.raises(ValidationError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(phone=phone)
    with pytest.raises(ValidationError), transaction.atomic():
        Contact.objects.bulk_create([Contact(name="X", phone=phone)])
    assert list(Contact.objects.values_list("phone", flat=True)) == ["+12125550123"]


@pytest.mark.parametrize("lookalike", ["+112125550123", "+12125550123\n", " +12125550123"])
def test_a_lookalike_number_stored_in_sql_is_never_eligible(db, lookalike):
    stop("+12125550123")
    contact = ContactFactory()
    store_old_phone(contact, lookalike)
    for channel in (SMS, CALLS):
        assert not Contact.objects.eligible_for(channel).filter(pk=contact.pk).exists()
        assert not Contact.objects.eligible_in_number_order(channel).filter(pk=contact.pk)


def test_bulk_update_refuses_a_number_not_in_canonical_form(db):
    contact = ContactFactory(phone="+12125550123")
    contact.phone = "+112125550123"
    with pytest.raises(ValidationError), transaction.atomic():
        Contact.objects.bulk_update([contact], ["phone"])
    contact.phone = "+12125550124"
    Contact.objects.bulk_update([contact], ["phone"])
    assert Contact.objects.get(pk=contact.pk).phone == "+12125550124"
