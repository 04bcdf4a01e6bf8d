"""Consent on record: an Admin records how a contact agreed (method, day, the disclosure they
saw), the contact page and the table's tooltips say it, the filters find contacts with and
without it, and the database keeps each record and each disclosure as written."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.models import (
    Channel,
    ConsentMethod,
    ConsentRecord,
    Contact,
    Disclosure,
    OptInStatus,
    Source,
)
from tests.factories import ContactFactory, store_old_phone

pytestmark = pytest.mark.django_db

FORM = {"channels": ["sms", "calls"], "method": "paper", "given_on": "2026-12-01"}


def record(contact: Contact, channel=Channel.SMS, **fields) -> ConsentRecord:
    values = {"method": ConsentMethod.WEB_FORM, "given_at": timezone.now()} | fields
    if "status" in values:  # awaiting confirmation: nothing records so yet but the tests
        return ConsentRecord.objects.create(phone=contact.phone, channel=channel, **values)
    return services.record_consent(phone=contact.phone, channel=channel, **values)


@pytest.fixture
def form_words():
    """Words written before the consents these tests record (a consent is never given to
    words written after it)."""
    return Disclosure.objects.create(
        title="Sign-up form", text="I agree to texts and calls.",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_an_admin_records_consent_to_both_channels_with_what_the_contact_saw(
    admin_client, admin_role_user, form_words
):
    contact = ContactFactory(name="Ada")
    url = reverse("contacts:consent", args=[contact.pk])
    assert "Record consent" in admin_client.get(url).content.decode()
    data = FORM | {"disclosure": form_words.pk, "note": "Signed at the front desk"}
    response = admin_client.post(url, data, follow=True)
    assert "Ada: consent to SMS and Calls &amp; Voicemails recorded." in response.content.decode()
    records = ConsentRecord.objects.order_by("channel")
    assert [(r.channel, r.method, r.contact, r.recorded_by, r.disclosure) for r in records] == [
        ("calls", "paper", contact, admin_role_user, form_words),
        ("sms", "paper", contact, admin_role_user, form_words),
    ]
    midnight = timezone.make_aware(datetime(2026, 12, 1))
    assert {r.given_at for r in records} == {midnight}
    assert {r.words for r in records} == {"Signed at the front desk"}
    page = response.content.decode()
    assert "agreed on paper or in person on 1 Dec 2026" in page
    assert "recorded by admintest" in page and "Sign-up form (version 1)" in page
    assert "SMS: Subscribed — agreed on paper or in person on 1 Dec 2026" in page


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"given_on": "2999-01-01"}, "A day to come: consent is recorded once it is given."),
        ({"given_on": "1969-12-31"}, "Choose a day since 1970."),
        ({"given_on": "yesterday"}, "Enter a valid date."),
        ({"channels": []}, "This field is required."),
        ({"channels": ["fax"]}, "Select a valid choice."),
        ({"method": "keyword"}, "Select a valid choice."),
        ({"disclosure": "99999"}, "Select a valid choice."),
        ({"note": "x" * 1001}, "Ensure this value has at most 1000 characters"),
    ],
)
def test_bad_input_gets_a_clear_error_and_records_nothing(admin_client, change, error):
    contact = ContactFactory()
    response = admin_client.post(reverse("contacts:consent", args=[contact.pk]), FORM | change)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_a_contact_without_a_valid_number_gets_no_consent(admin_client):
    contact = ContactFactory()
    store_old_phone(contact, "555")
    response = admin_client.post(reverse("contacts:consent", args=[contact.pk]), FORM)
    assert "The contact has no valid phone number: fix it first." in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_consent_lifts_no_opt_out_and_says_so(admin_client, admin_role_user):
    contact = ContactFactory()
    services.record_hard_opt_out(phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD)
    services.unsubscribe(contact=contact, channel=Channel.CALLS, by_user=admin_role_user)
    url = reverse("contacts:consent", args=[contact.pk])
    page = admin_client.post(url, FORM, follow=True).content.decode()
    assert "Opted out of SMS (hard) still: It ends when the number replies START." in page
    assert "Opted out of Calls &amp; Voicemails (soft) still" in page
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert contact.opt_in_status(Channel.CALLS) == OptInStatus.SOFT


def test_staff_see_consent_but_cannot_record_it(client, staff_user):
    contact = ContactFactory()
    record(contact)
    client.force_login(staff_user)
    page = client.get(contact.get_absolute_url()).content.decode()
    assert "signed up on a web form on" in page and "Record consent" not in page
    assert client.post(reverse("contacts:consent", args=[contact.pk]), FORM).status_code == 403
    assert ConsentRecord.objects.count() == 1


def test_the_table_s_tooltips_say_how_each_channel_was_consented_to(admin_client):
    joined = ContactFactory(name="Joined")
    record(joined, method=ConsentMethod.KEYWORD, words="JOIN",
           given_at=timezone.make_aware(datetime(2026, 12, 3, 15)))  # fmt: skip
    record(joined, Channel.CALLS, method=ConsentMethod.VERBAL,
           given_at=timezone.make_aware(datetime(2026, 11, 2, 9)))  # fmt: skip
    ContactFactory(name="Nobody")
    page = admin_client.get(reverse("contacts:list")).content.decode()
    assert "Subscribed to SMS: replied “JOIN” on 3 Dec 2026" in page
    assert "Subscribed to Calls &amp; Voicemails: agreed verbally on 2 Nov 2026" in page
    assert "Subscribed to SMS: no consent on record" in page


def test_the_newest_consent_of_the_number_is_the_one_shown(admin_client):
    contact = ContactFactory()
    record(contact, method=ConsentMethod.IMPORT, given_at=timezone.now() - timedelta(days=9))
    record(contact, method=ConsentMethod.PAPER, given_at=timezone.now() - timedelta(days=1))
    record(contact, method=ConsentMethod.VERBAL, given_at=timezone.now() - timedelta(days=5))
    page = admin_client.get(reverse("contacts:list")).content.decode()
    assert "Subscribed to SMS: agreed on paper or in person on" in page
    shared = ContactFactory(phone=contact.phone)  # the number's consent, whoever has it
    assert Contact.objects.get(pk=shared.pk).consent_for(Channel.SMS).method == "paper"


def test_the_filters_find_contacts_with_and_without_consent(admin_client):
    both, texts, neither = ContactFactory(), ContactFactory(), ContactFactory()
    record(both)
    record(both, Channel.CALLS)
    record(texts)
    voided = ContactFactory()
    record(voided).__class__.objects.filter(phone=voided.phone).update(
        status="void", voided_at=timezone.now(), void_reason="reassigned"
    )

    def found(query: str) -> set[int]:
        response = admin_client.get(reverse("contacts:list") + "?" + query)
        return {row.pk for row in response.context["page"].rows}

    assert found("sms_consent=on_record") == {both.pk, texts.pk}
    assert found("sms_consent=none") == {neither.pk, voided.pk}
    assert found("calls_consent=on_record") == {both.pk}
    assert found("sms_consent=on_record&calls_consent=none") == {texts.pk}
    response = admin_client.get(reverse("contacts:list") + "?sms_consent=maybe")
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_a_disclosure_edited_is_a_new_version_and_consent_keeps_the_old_words(
    admin_client, form_words
):
    contact = ContactFactory()
    consent = record(contact, disclosure=form_words)
    url = reverse("contacts:disclosure_edit", args=[form_words.pk])
    response = admin_client.post(url, {"text": "I agree to texts, calls and emails."}, follow=True)
    assert "Sign-up form (version 2): added." in response.content.decode()
    assert list(Disclosure.objects.values_list("version", "text").order_by("version")) == [
        (1, "I agree to texts and calls."),
        (2, "I agree to texts, calls and emails."),
    ]
    assert ConsentRecord.objects.get(pk=consent.pk).disclosure.text == "I agree to texts and calls."
    listed = admin_client.get(reverse("contacts:disclosures")).content.decode()
    assert "I agree to texts, calls and emails." in listed and "texts and calls." not in listed


def test_a_new_disclosure_needs_a_title_of_its_own(admin_client, form_words):
    response = admin_client.post(
        reverse("contacts:disclosure_new"), {"title": "Sign-up form", "text": "Other words"}
    )
    assert "A disclosure has this title: edit it to add a version." in response.content.decode()
    assert Disclosure.objects.count() == 1


def sql(statement: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    "change",
    [
        "words = 'Signed the form'",
        "method = 'paper'",
        "given_at = '2020-01-01'",
        "phone = '+14155550999'",
        "channel = 'calls'",
        "disclosure_id = NULL",
        "recorded_at = '2020-01-01'",
        "status = 'awaiting'",
        "confirmation = 'sms:SMforged'",
    ],
)
def test_the_database_keeps_a_consent_record_as_given(form_words, change):
    consent = record(ContactFactory(), disclosure=form_words)
    with pytest.raises(IntegrityError, match="A consent record keeps what was given"):
        sql(f"UPDATE contacts_consentrecord SET {change} WHERE id = %s", [consent.pk])
    kept = ConsentRecord.objects.get(pk=consent.pk)
    assert (kept.words, kept.method, kept.status, kept.given_at) == (
        consent.words, consent.method, "confirmed", consent.given_at
    )  # fmt: skip


def test_a_record_may_be_made_void_once_and_an_awaited_one_confirmed_once():
    contact = ContactFactory()
    given = record(contact)
    void = {"status": "void", "voided_at": timezone.now(), "void_reason": "reassigned"}
    assert ConsentRecord.objects.filter(pk=given.pk).update(**void) == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentRecord.objects.filter(pk=given.pk).update(void_reason="a typo")
    awaited = record(contact, status="awaiting")
    confirm = {"status": "confirmed", "confirmed_at": timezone.now(), "confirmation": "sms:SMy"}
    assert ConsentRecord.objects.filter(pk=awaited.pk).update(**confirm) == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentRecord.objects.filter(pk=awaited.pk).update(confirmation="sms:SMother")
    with pytest.raises(IntegrityError), transaction.atomic():  # a confirmation needs its proof
        ConsentRecord.objects.filter(pk=record(contact, status="awaiting").pk).update(
            status="confirmed", confirmed_at=timezone.now()
        )


@pytest.mark.parametrize(
    "change",
    ["text = 'Other words'", "title = 'Other'", "version = 7", "created_at = '2020-01-01'"],
)
def test_the_database_keeps_a_disclosure_s_words(form_words, change):
    with pytest.raises(IntegrityError, match="A disclosure never changes"):
        sql(f"UPDATE contacts_disclosure SET {change} WHERE id = %s", [form_words.pk])
    assert Disclosure.objects.get().text == "I agree to texts and calls."


@pytest.mark.sqlite
def test_sqlite_s_insert_or_replace_cannot_rewrite_a_record_or_a_disclosure(form_words):
    consent = record(ContactFactory(), disclosure=form_words)
    with pytest.raises(IntegrityError, match="cannot be replaced"):
        sql(
            "INSERT OR REPLACE INTO contacts_consentrecord (id, phone, channel, method, given_at,"
            " words, reference, status, confirmation, void_reason)"
            " VALUES (%s, %s, 'sms', 'paper', '2020-01-01', 'forged', '', 'confirmed', '', '')",
            [consent.pk, consent.phone],
        )
    with pytest.raises(IntegrityError, match="A disclosure never changes"):
        sql(
            "INSERT OR REPLACE INTO contacts_disclosure (id, title, version, text, created_at)"
            " VALUES (%s, 'Sign-up form', 1, 'forged', '2020-01-01')",
            [form_words.pk],
        )
    assert ConsentRecord.objects.get().words == "" and Disclosure.objects.get().text != "forged"


@pytest.mark.postgres
def test_postgres_records_a_consent_at_its_own_time():
    contact = ContactFactory()
    sql(
        "INSERT INTO contacts_consentrecord (phone, channel, method, given_at, recorded_at,"
        " words, reference, status, confirmation, void_reason)"
        " VALUES (%s, 'sms', 'paper', now(), '2020-01-01', '', '', 'confirmed', '', '')",
        [contact.phone],
    )
    assert ConsentRecord.objects.get().recorded_at.year == timezone.now().year


def test_a_number_changed_in_sql_voids_the_contact_s_consent_of_it():
    contact = ContactFactory()
    record(contact)
    sql("UPDATE contacts_contact SET phone = '+14155550999' WHERE id = %s", [contact.pk])
    kept = ConsentRecord.objects.get()
    assert (kept.status, kept.void_reason) == ("void", "the contact moved to another number")


def test_each_channel_is_recorded_once_and_a_long_reply_shows_its_keyword(admin_client):
    contact = ContactFactory(name="Dee")
    data = FORM | {"channels": ["sms", "sms", "calls", "sms"]}
    response = admin_client.post(reverse("contacts:consent", args=[contact.pk]), data, follow=True)
    assert "Dee: consent to SMS and Calls &amp; Voicemails recorded." in response.content.decode()
    assert ConsentRecord.objects.count() == 2
    joined = record(
        ContactFactory(), method=ConsentMethod.KEYWORD, words="!" * 2000 + "JOIN" + "!" * 9
    )
    assert joined.how == "replied “JOIN”" and len(joined.words) == 2013


def recorded_long_ago(phone: str, *, days: int, voided_days_ago: int | None = None):
    """A record as one recorded `days` ago would be (PostgreSQL stamps its own time: this
    writes with the triggers out of the way, as a superuser)."""
    at = timezone.now() - timedelta(days=days)
    void = {}
    if voided_days_ago is not None:
        void = {"status": "void", "void_reason": "the contact was deleted",
                "voided_at": timezone.now() - timedelta(days=voided_days_ago)}  # fmt: skip
    postgres = connection.vendor == "postgresql"
    if postgres:  # until the test's transaction ends, unless set back
        sql("SET LOCAL session_replication_role = replica")
    old = ConsentRecord.objects.create(
        phone=phone, channel=Channel.SMS, method=ConsentMethod.PAPER, given_at=at,
        recorded_at=at, **void,
    )  # fmt: skip
    if postgres:
        sql("SET LOCAL session_replication_role = origin")
    return old


YEAR = 366  # days: a little more than a year, so that "n years ago" is past for any n


@pytest.mark.parametrize(
    "delete",
    [
        lambda record: ConsentRecord.objects.filter(pk=record.pk).delete(),
        lambda record: sql("DELETE FROM contacts_consentrecord WHERE id = %s", [record.pk]),
        lambda record: sql("DELETE FROM contacts_consentrecord"),
    ],
)
def test_the_database_keeps_consent_records_four_years_and_while_the_number_is_held(delete):
    held = ContactFactory()
    records = [
        record(held),  # recorded now
        recorded_long_ago(held.phone, days=6 * YEAR),  # old, but a contact has the number
        recorded_long_ago("+14155550990", days=3 * YEAR),  # no contact; recorded 3 years ago
        # no contact; recorded 6 years ago, made void 3 years ago
        recorded_long_ago("+14155550991", days=6 * YEAR, voided_days_ago=3 * YEAR),
    ]
    for each in records:
        with (
            pytest.raises(IntegrityError, match="kept for at least four years"),
            transaction.atomic(),
        ):
            delete(each)
    assert ConsentRecord.objects.count() == 4
    deleted = ContactFactory()
    record(deleted)
    deleted.delete()  # its records are made void, and kept
    assert ConsentRecord.objects.filter(phone=deleted.phone, status="void").count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["contacts_consentrecord", "contacts_disclosure"])
def test_postgres_refuses_to_empty_the_consent_records(form_words, table):
    record(ContactFactory(), disclosure=form_words)
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # else the test's transaction holds trigger events
    with pytest.raises(IntegrityError, match="kept for at least four years"):
        sql(f"TRUNCATE {table} CASCADE")
    assert ConsentRecord.objects.count() == 1


def purge(*options: str) -> str:
    out = io.StringIO()
    call_command("purge_consent_records", *options, stdout=out)
    return out.getvalue()


def test_purge_deletes_records_past_retention_of_numbers_no_contact_has(settings):
    held = ContactFactory()
    recorded_long_ago(held.phone, days=7 * YEAR)
    kept = [
        recorded_long_ago("+14155550990", days=4 * YEAR + 200),  # past 4 years, not 5
        recorded_long_ago("+14155550991", days=7 * YEAR, voided_days_ago=2 * YEAR),
        record(ContactFactory(phone="+14155550992")),
    ]
    gone = [
        recorded_long_ago("+14155550993", days=5 * YEAR),
        recorded_long_ago("+14155550994", days=8 * YEAR, voided_days_ago=6 * YEAR),
    ]
    assert "2 consent records are older than 5 years" in purge("--dry-run")
    assert ConsentRecord.objects.count() == 6
    assert "2 consent records older than 5 years, of numbers no contact has, deleted" in purge()
    assert not ConsentRecord.objects.filter(pk__in=[each.pk for each in gone]).exists()
    assert ConsentRecord.objects.filter(phone=held.phone).count() == 1
    assert ConsentRecord.objects.filter(pk__in=[each.pk for each in kept]).count() == 3
    settings.CONSENT_RETENTION_YEARS = 4
    assert "1 consent records older than 4 years" in purge()
    assert ConsentRecord.objects.filter(pk__in=[each.pk for each in kept]).count() == 2


@pytest.mark.parametrize(
    ("years", "finding"), [(3, "contacts.E001"), (4, "contacts.W001"), (5, None), (7, None)]
)
def test_a_retention_shorter_than_the_law_asks_is_reported(settings, years, finding):
    from contacts.checks import check_consent_retention

    settings.CONSENT_RETENTION_YEARS = years
    assert [each.id for each in check_consent_retention(None)] == ([finding] if finding else [])
