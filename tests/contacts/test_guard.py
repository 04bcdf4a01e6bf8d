"""No path but the contact's own new consent reverses a hard opt-out (both databases).

Each test tries one way around the rule and asserts that the database refused and that
nothing changed.
"""

from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction

from contacts import services
from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, OptOut, PhoneOptOut, Source
from tests.factories import ContactFactory, reply_start

SMS = Channel.SMS


@pytest.fixture
def contact(db):
    contact = ContactFactory(phone="+14155550123")
    services.record_hard_opt_out(
        phone=contact.phone, channel=SMS, source=Source.KEYWORD, words="STOP"
    )
    return contact


def status(contact: Contact) -> OptInStatus:
    return Contact.objects.get(pk=contact.pk).opt_in_status(SMS)


@contextmanager
def refused():
    """Expect the database to refuse, inside a savepoint so that the test can go on."""
    with (
        pytest.raises(IntegrityError, match="hard opt-out cannot be reversed"),
        transaction.atomic(),
    ):
        yield


def assert_still_hard(contact: Contact) -> None:
    assert status(contact) == OptInStatus.HARD
    assert PhoneOptOut.objects.filter(phone="+14155550123", channel=SMS).exists()


def hard_row(contact: Contact) -> OptOut:
    return OptOut.objects.get(contact=contact, channel=SMS)


def test_a_stop_makes_the_contact_hard_opted_out(contact):
    assert status(contact) == OptInStatus.HARD
    assert hard_row(contact).source == Source.KEYWORD


def test_the_service_refuses_with_an_error_a_form_can_show(contact, admin_role_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="the number replies START") as error:
        services.resubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    assert error.value.code == "hard_opt_out"
    assert_still_hard(contact)


def test_model_save_cannot_soften_it(contact):
    row = hard_row(contact)
    row.kind = OptOut.SOFT
    with refused():
        row.save()
    assert_still_hard(contact)


def test_model_save_cannot_move_it_to_another_contact(contact):
    other = ContactFactory()
    row = hard_row(contact)
    row.contact = other
    with refused():
        row.save()
    assert_still_hard(contact)


def test_model_save_cannot_rewrite_its_record(contact):
    row = hard_row(contact)
    row.source = Source.USER
    with refused():
        row.save()
    assert hard_row(contact).source == Source.KEYWORD


def test_queryset_update_cannot_soften_it(contact):
    with refused():
        OptOut.objects.filter(contact=contact).update(kind=OptOut.SOFT)
    assert_still_hard(contact)


def test_bulk_update_cannot_soften_it(contact):
    row = hard_row(contact)
    row.kind = OptOut.SOFT
    with refused():
        OptOut.objects.bulk_update([row], ["kind"])
    assert_still_hard(contact)


def test_bulk_create_with_update_conflicts_cannot_soften_it(contact):
    with refused():
        OptOut.objects.bulk_create(
            [OptOut(contact=contact, channel=SMS, kind=OptOut.SOFT, source=Source.USER)],
            update_conflicts=True,
            unique_fields=["contact", "channel"],
            update_fields=["kind", "source"],
        )
    assert_still_hard(contact)


def test_deleting_the_opt_out_is_refused(contact):
    with refused():
        hard_row(contact).delete()
    with refused():
        OptOut.objects.filter(contact=contact).delete()
    assert_still_hard(contact)


def test_deleting_the_numbers_opt_out_is_refused(contact):
    with refused():
        PhoneOptOut.objects.filter(phone=contact.phone).delete()
    assert_still_hard(contact)


def test_changing_the_numbers_opt_out_is_refused(contact):
    with refused():
        PhoneOptOut.objects.filter(phone=contact.phone).update(phone="+14155550999")
    with refused():
        PhoneOptOut.objects.filter(phone=contact.phone).update(channel=Channel.CALLS)
    assert_still_hard(contact)


def test_changing_the_contacts_phone_keeps_it(contact):
    contact.phone = "+14155550999"
    contact.save()
    assert status(contact) == OptInStatus.HARD


def test_a_contact_deleted_and_created_again_is_opted_out_from_the_start(contact):
    contact.delete()
    again = services.create_contact(name="Same person", phone="(415) 555-0123")
    assert status(again) == OptInStatus.HARD
    assert again.consent_events.get().after == OptInStatus.HARD


def test_a_second_contact_with_the_number_is_opted_out_too(contact):
    twin = ContactFactory(phone=contact.phone)
    assert status(twin) == OptInStatus.HARD


def test_among_many_new_contacts_the_one_with_an_opted_out_number_is_opted_out(contact):
    """One statement of a hundred new contacts: more numbers than it locks one by one."""
    others = [Contact(name=f"New {n}", phone=f"+1415555{1000 + n}") for n in range(99)]
    created = Contact.objects.bulk_create([*others, Contact(name="Twin", phone=contact.phone)])
    statuses = [status(Contact.objects.get(pk=c.pk)) for c in created]
    assert statuses == [OptInStatus.SUBSCRIBED] * 99 + [OptInStatus.HARD]


def test_a_numbers_opt_out_gets_its_ledger_rows_however_it_is_inserted(db):
    """The database writes the number's row, then each contact's, whoever inserts it."""
    contact = ContactFactory(phone="+14155550123")
    PhoneOptOut.objects.create(phone=contact.phone, channel=SMS, source=Source.KEYWORD,
                               words="Stop texting me")  # fmt: skip
    rows = ConsentEvent.objects.order_by("id").values_list(
        "contact_id", "phone", "channel", "before", "after", "source"
    )
    assert list(rows) == [
        (None, contact.phone, "sms", "subscribed", "hard", "keyword"),
        (contact.pk, contact.phone, "sms", "subscribed", "hard", "keyword"),
    ]
    assert ConsentEvent.objects.get(contact=None).note == "Stop texting me"


def test_moving_a_contact_onto_the_number_opts_it_out(contact):
    other = ContactFactory(phone="+14155550777")
    services.unsubscribe(contact=other, channel=SMS, by_user=None)
    Contact.objects.filter(pk=other.pk).update(phone=contact.phone)
    assert status(other) == OptInStatus.HARD
    assert [(e.before, e.after) for e in other.consent_events.order_by("id")] == [
        (OptInStatus.SUBSCRIBED, OptInStatus.SOFT),
        (OptInStatus.SOFT, OptInStatus.HARD),
    ]


def test_raw_sql_update_and_delete_are_refused(contact):
    with refused(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE contacts_optout SET kind = 'soft' WHERE contact_id = %s", [contact.pk]
        )
    with refused(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_optout WHERE contact_id = %s", [contact.pk])
    with refused(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_phoneoptout")
    assert_still_hard(contact)


def test_a_ledger_row_from_a_user_does_not_unlock_it(contact, admin_role_user):
    ConsentEvent.objects.create(
        contact=contact, phone=contact.phone, channel=SMS, before=OptInStatus.HARD,
        after=OptInStatus.SUBSCRIBED, source=Source.USER, actor=admin_role_user,
    )  # fmt: skip
    with refused():
        hard_row(contact).delete()
    assert_still_hard(contact)


def test_an_older_consent_does_not_unlock_a_newer_stop(db):
    contact = ContactFactory(phone="+14155550123")
    services.record_hard_opt_out(phone=contact.phone, channel=SMS, source=Source.KEYWORD)
    reply_start(contact.phone)
    services.record_hard_opt_out(phone=contact.phone, channel=SMS, source=Source.KEYWORD)
    with refused():
        hard_row(contact).delete()
    with refused():
        PhoneOptOut.objects.filter(phone=contact.phone).delete()
    assert_still_hard(contact)


def test_the_contacts_own_start_lifts_it_with_its_ledger_record(contact):
    assert reply_start(contact.phone) == 1
    assert status(contact) == OptInStatus.SUBSCRIBED
    assert not PhoneOptOut.objects.exists()
    latest = contact.consent_events.first()
    assert (latest.before, latest.after, latest.source, latest.note) == (
        OptInStatus.HARD, OptInStatus.SUBSCRIBED, Source.KEYWORD, "START",
    )  # fmt: skip


def test_deleting_a_contact_keeps_the_opt_out_of_its_number(contact):
    contact.delete()
    assert PhoneOptOut.objects.filter(phone="+14155550123", channel=SMS).exists()
    assert ConsentEvent.objects.filter(phone="+14155550123").count() == 2


def test_the_ledger_cannot_be_changed_or_deleted(contact):
    message = "ledger is append-only"
    event = ConsentEvent.objects.first()
    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk).update(note="edited")
    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        event.delete()
    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        ConsentEvent.objects.all().delete()
    assert ConsentEvent.objects.get(pk=event.pk).note == event.note


@pytest.mark.postgres
def test_truncate_is_refused_on_postgres(contact):
    with connection.cursor() as cursor:
        # TRUNCATE waits for no deferred foreign-key check; run those now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table in ("contacts_optout", "contacts_phoneoptout", "contacts_consentevent"):
        with (
            pytest.raises(IntegrityError, match="cannot be reversed|append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {table} CASCADE")
    assert_still_hard(contact)


@pytest.mark.sqlite
class TestSqliteReplace:
    """INSERT OR REPLACE and UPDATE OR REPLACE delete rows without delete triggers."""

    def run(self, sql, params):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)

    def test_insert_or_replace_of_the_opt_out_is_refused(self, contact):
        row = hard_row(contact)
        self.run(
            "INSERT OR REPLACE INTO contacts_optout (id, contact_id, channel, kind, opted_out_at,"
            " source, words) VALUES (%s, %s, 'sms', 'soft', '2026-01-01', 'user', '')",
            [row.pk, contact.pk],
        )
        self.run(
            "INSERT OR REPLACE INTO contacts_optout (contact_id, channel, kind, opted_out_at,"
            " source, words) VALUES (%s, 'sms', 'soft', '2026-01-01', 'user', '')",
            [contact.pk],
        )
        assert_still_hard(contact)

    def test_update_or_replace_onto_the_opt_out_is_refused(self, contact):
        soft = OptOut.objects.create(
            contact=contact, channel=Channel.CALLS, kind=OptOut.SOFT, source=Source.USER
        )
        self.run("UPDATE OR REPLACE contacts_optout SET channel = 'sms' WHERE id = %s", [soft.pk])
        self.run(
            "UPDATE OR REPLACE contacts_optout SET id = %s WHERE id = %s",
            [hard_row(contact).pk, soft.pk],
        )
        assert_still_hard(contact)

    def test_insert_or_replace_of_the_contact_is_refused(self, contact):
        self.run(
            "INSERT OR REPLACE INTO contacts_contact (id, name, phone, email, status, created_at,"
            " updated_at) VALUES (%s, 'X', '+14155550999', '', 'active', '2026-01-01',"
            " '2026-01-01')",
            [contact.pk],
        )
        other = ContactFactory()
        self.run(
            "UPDATE OR REPLACE contacts_contact SET id = %s WHERE id = %s", [contact.pk, other.pk]
        )
        assert_still_hard(contact)

    def test_insert_or_replace_of_the_numbers_opt_out_is_refused(self, contact):
        row = PhoneOptOut.objects.get()
        self.run(
            "INSERT OR REPLACE INTO contacts_phoneoptout (id, phone, channel, opted_out_at, source,"
            " words) VALUES (%s, '+14155550999', 'sms', '2026-01-01', 'keyword', '')",
            [row.pk],
        )
        assert_still_hard(contact)

    def test_insert_or_replace_of_a_ledger_row_is_refused(self, contact):
        event = ConsentEvent.objects.first()
        self.run(
            "INSERT OR REPLACE INTO contacts_consentevent (id, at, phone, channel, before, after,"
            " source, note) VALUES (%s, '2026-01-01', '+1', 'sms', 'hard', 'subscribed', 'user',"
            " '')",
            [event.pk],
        )
        assert ConsentEvent.objects.get(pk=event.pk).note == event.note
