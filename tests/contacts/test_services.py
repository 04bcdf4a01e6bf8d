from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from contacts import services
from contacts.models import (
    Channel,
    ConsentEvent,
    Contact,
    HardOptOutError,
    OptInStatus,
    Source,
    channels_revoked,
    is_pressed_key,
    pressed,
)
from tests.factories import ContactFactory, opt_in, reply_start

SMS, CALLS = Channel.SMS, Channel.CALLS
NEW_YORK, PARIS = ZoneInfo("America/New_York"), ZoneInfo("Europe/Paris")


def fresh(contact: Contact) -> Contact:
    return Contact.objects.prefetch_related("opt_outs").get(pk=contact.pk)


def ledger(contact: Contact) -> list[tuple]:
    return [
        (e.channel, e.before, e.after, e.source)
        for e in ConsentEvent.objects.filter(contact=contact).order_by("id")
    ]


def test_create_contact_normalises_the_phone_and_tags_it(db):
    contact = services.create_contact(name="Ana", phone="(415) 555-0199", tags=["VIP", "Leads"])
    assert contact.phone == "+14155550199"
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Leads", "VIP"]
    assert fresh(contact).opt_in_status(SMS) == OptInStatus.SUBSCRIBED


def test_create_contact_takes_a_phone_as_people_write_it(db):
    contact = services.create_contact(name="Ana", phone="+1 (415) 555-0199 ")
    assert contact.phone == "+14155550199"


def test_create_contact_refuses_an_invalid_phone_and_creates_nothing(db):
    with pytest.raises(ValidationError, match="“555” is not a valid phone number"):
        services.create_contact(name="Ana", phone="555")
    assert not Contact.objects.exists()


def test_unsubscribe_is_soft_records_who_did_it_and_writes_the_ledger(admin_role_user):
    contact = ContactFactory()
    opt_out = services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    assert (opt_out.kind, opt_out.actor, opt_out.message) == (
        "soft", admin_role_user, "Opted out of SMS",
    )  # fmt: skip
    assert fresh(contact).opt_in_status(SMS) == OptInStatus.SOFT
    assert fresh(contact).opt_in_status(CALLS) == OptInStatus.SUBSCRIBED
    assert ledger(contact) == [("sms", "subscribed", "soft", "user")]


def test_unsubscribing_twice_changes_nothing(admin_role_user):
    contact = ContactFactory()
    services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    assert len(ledger(contact)) == 1


def test_resubscribe_lifts_a_soft_opt_out(admin_role_user):
    contact = ContactFactory()
    services.unsubscribe(contact=contact, channel=CALLS, by_user=admin_role_user)
    services.resubscribe(contact=contact, channel=CALLS, by_user=admin_role_user)
    assert fresh(contact).opt_in_status(CALLS) == OptInStatus.SUBSCRIBED
    assert ledger(contact)[-1] == ("calls", "soft", "subscribed", "user")


def test_resubscribing_a_subscribed_contact_changes_nothing(admin_role_user):
    contact = ContactFactory()
    services.resubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    assert ledger(contact) == []


def test_resubscribe_refuses_a_hard_opt_out_saying_why(admin_role_user):
    contact = ContactFactory()
    services.record_hard_opt_out(phone=contact.phone, channel=CALLS, source=Source.DIGIT)
    with pytest.raises(services.HardOptOutError) as error:
        services.resubscribe(contact=contact, channel=CALLS, by_user=admin_role_user)
    assert error.value.message.startswith(
        "Opted out of Calls & Voicemails: pressed the unsubscribe digit on"
    )
    assert fresh(contact).opt_in_status(CALLS) == OptInStatus.HARD


def test_a_hard_opt_out_holds_for_every_contact_with_the_number(db):
    first, second = ContactFactory(phone="+14155550100"), ContactFactory(phone="+14155550100")
    other = ContactFactory(phone="+14155550111")
    services.record_hard_opt_out(
        phone="(415) 555-0100", channel=SMS, source=Source.KEYWORD, words="Stop."
    )
    assert fresh(first).opt_in_status(SMS) == OptInStatus.HARD
    assert fresh(second).opt_in_status(SMS) == OptInStatus.HARD
    assert fresh(other).opt_in_status(SMS) == OptInStatus.SUBSCRIBED
    assert fresh(first).opt_in_status(CALLS) == OptInStatus.SUBSCRIBED
    assert fresh(first).opt_out_for(SMS).words == "Stop."
    assert ledger(first) == [("sms", "subscribed", "hard", "keyword")]
    number_event = ConsentEvent.objects.get(contact=None)
    assert (number_event.phone, number_event.note) == ("+14155550100", "Stop.")


def test_a_hard_opt_out_replaces_a_soft_one(admin_role_user):
    contact = ContactFactory()
    services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    services.record_hard_opt_out(phone=contact.phone, channel=SMS, source=Source.KEYWORD)
    opt_out = fresh(contact).opt_out_for(SMS)
    assert (opt_out.kind, opt_out.actor, opt_out.source) == ("hard", None, "keyword")
    assert ledger(contact)[-1] == ("sms", "soft", "hard", "keyword")


def test_a_second_stop_changes_nothing(db):
    contact = ContactFactory()
    for _ in range(2):
        services.record_hard_opt_out(phone=contact.phone, channel=SMS, source=Source.KEYWORD)
    assert ConsentEvent.objects.count() == 2  # the number's and the contact's, once


def test_a_platform_user_cannot_record_a_hard_opt_out(db):
    with pytest.raises(ValueError):
        services.record_hard_opt_out(phone="+14155550100", channel=SMS, source=Source.USER)


def test_new_consent_lifts_hard_and_soft_opt_outs_of_the_number(admin_role_user):
    hard = ContactFactory(phone="+14155550100")
    services.record_hard_opt_out(phone=hard.phone, channel=SMS, source=Source.KEYWORD)
    soft = ContactFactory(phone="+14155550100")  # created later: hard from the start
    services.unsubscribe(contact=soft, channel=CALLS, by_user=admin_role_user)
    assert reply_start("+14155550100") == 2
    assert fresh(hard).opt_in_status(SMS) == OptInStatus.SUBSCRIBED
    assert fresh(soft).opt_in_status(SMS) == OptInStatus.SUBSCRIBED
    assert fresh(soft).opt_in_status(CALLS) == OptInStatus.SOFT  # another channel
    assert ledger(hard)[-1] == ("sms", "hard", "subscribed", "keyword")
    # A contact created after the START is subscribed.
    assert fresh(ContactFactory(phone="+14155550100")).opt_in_status(SMS) == "subscribed"


@pytest.mark.parametrize(
    ("channel", "words"),
    [(SMS, "please let me back in"), (SMS, "pressed 1"), (CALLS, "START"), (CALLS, "pressed")],
)
def test_new_consent_comes_only_from_the_contacts_start_or_digit(db, channel, words):
    contact = ContactFactory(phone="+14155550100")
    services.record_hard_opt_out(phone=contact.phone, channel=channel, source=Source.KEYWORD)
    with pytest.raises(HardOptOutError, match="not the contact's own opt-in"):
        services.record_new_consent(
            phone=contact.phone, channel=channel, words=words, reference="sms:SM1"
        )
    assert fresh(contact).opt_in_status(channel) == OptInStatus.HARD


def test_an_sms_start_does_not_lift_a_calls_opt_out(db):
    contact = ContactFactory(phone="+14155550100")
    services.record_hard_opt_out(phone=contact.phone, channel=CALLS, source=Source.DIGIT)
    services.record_hard_opt_out(phone=contact.phone, channel=SMS, source=Source.KEYWORD)
    reply_start(contact.phone)
    assert fresh(contact).opt_in_status(SMS) == OptInStatus.SUBSCRIBED
    assert fresh(contact).opt_in_status(CALLS) == OptInStatus.HARD


def test_the_digit_on_a_call_lifts_a_calls_opt_out_only(db):
    contact = ContactFactory(phone="+14155550100")
    for channel in (SMS, CALLS):
        services.record_hard_opt_out(phone=contact.phone, channel=channel, source=Source.DIGIT)
    lifted = opt_in(contact.phone, CALLS, "pressed 1")
    assert lifted == 1
    assert fresh(contact).opt_in_status(CALLS) == OptInStatus.SUBSCRIBED
    assert fresh(contact).opt_in_status(SMS) == OptInStatus.HARD


def test_the_briefs_example(admin_role_user):
    contact_a, contact_b = ContactFactory(name="Contact A"), ContactFactory(name="Contact B")
    services.unsubscribe(contact=contact_a, channel=SMS, by_user=admin_role_user)
    services.unsubscribe(contact=contact_b, channel=CALLS, by_user=admin_role_user)
    assert list(Contact.objects.subscribed_to(SMS)) == [contact_b]
    assert list(Contact.objects.subscribed_to(CALLS)) == [contact_a]
    assert list(Contact.objects.opted_out_of(SMS, "soft")) == [contact_a]
    assert list(Contact.objects.opted_out_of(SMS, "hard")) == []


@pytest.mark.postgres
def test_the_applications_database_role_may_make_bulk_changes(admin_role_user):
    """They lock the numbers' opt-outs (SHARE), which the role the README grants may do."""
    from tests.crm.test_database_role import as_role

    contacts = ContactFactory.create_batch(3)
    services.unsubscribe(contact=contacts[0], channel=Channel.SMS, by_user=admin_role_user)
    as_role("crm_app_bulk_test")
    everyone = Contact.objects.all()
    assert services.unsubscribe_many(contacts=everyone, channel=Channel.SMS,
                                     by_user=admin_role_user) == 2  # fmt: skip
    assert services.resubscribe_many(contacts=everyone, channel=Channel.SMS,
                                     by_user=admin_role_user) == (3, 0)  # fmt: skip


NAMES_TO_QUOTE = ['O"Brien', "back\\slash", "a,b", "{braces}", "NULL", " spaced ", "é 😀"]


def test_among_names_exactly_the_rows_with_those_values(db):
    contacts = [ContactFactory(name=name) for name in [*NAMES_TO_QUOTE, "Other", "a"]]
    for column, values in [("name", NAMES_TO_QUOTE), ("id", [c.pk for c in contacts[:3]])]:
        among, params = services.among(column, values)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {column} FROM contacts_contact WHERE {among}", params)
            assert sorted(found for (found,) in cursor.fetchall()) == sorted(values)


def test_a_pressed_key_is_read_back_as_one(settings):
    for key in settings.PHONE_KEYS:
        assert is_pressed_key(pressed(key))
    for words in ["pressed", "pressed ", "pressed 12", "pressed a", "press 1", "pressed  1", "1"]:
        assert not is_pressed_key(words)


def test_a_soft_change_writes_one_ledger_row_a_contact_alone_or_in_bulk(admin_role_user):
    one, two, three = ContactFactory.create_batch(3)
    change = {"channel": SMS, "by_user": admin_role_user}
    services.unsubscribe(contact=one, note="Asked", **change)
    assert services.unsubscribe_many(contacts=[one.pk, two.pk, three.pk], note="Asked",
                                     **change) == 2  # fmt: skip
    services.resubscribe(contact=one, note="Back", **change)
    assert services.resubscribe_many(contacts=[one.pk, two.pk, three.pk], note="Back",
                                     **change) == (2, 0)  # fmt: skip
    rows = ConsentEvent.objects.order_by("id").values_list(
        "contact_id", "phone", "channel", "before", "after", "source", "actor", "note"
    )
    assert list(rows) == [
        (c.pk, c.phone, "sms", before, after, "user", admin_role_user.pk, note)
        for before, after, note in [("subscribed", "soft", "Asked"), ("soft", "subscribed", "Back")]
        for c in (one, two, three)
    ]


@pytest.mark.parametrize(
    ("scope", "all_from", "at", "covered"),
    [
        ("channel", "", datetime(2027, 1, 31, tzinfo=UTC), (SMS,)),
        ("all", "", datetime(2027, 1, 31, tzinfo=UTC), (SMS, CALLS)),
        ("channel", "2027-01-31", datetime(2027, 1, 30, 23, 59, 59, tzinfo=UTC), (SMS,)),
        ("channel", "2027-01-31", datetime(2027, 1, 31, tzinfo=UTC), (SMS, CALLS)),
        ("channel", "2027-01-31", datetime(2027, 2, 1, 12, tzinfo=UTC), (SMS, CALLS)),
        # 19:30 in New York on the 30th is the 31st in UTC, and 01:00 in Paris on the 31st
        # the 30th: the day is UTC's, whatever TIME_ZONE says.
        ("channel", "2027-01-31", datetime(2027, 1, 30, 19, 30, tzinfo=NEW_YORK), (SMS, CALLS)),
        ("channel", "2027-01-31", datetime(2027, 1, 31, 0, 30, tzinfo=PARIS), (SMS,)),
        ("all", "2999-01-01", datetime(2027, 1, 31, tzinfo=UTC), (SMS, CALLS)),
    ],
)
def test_an_opt_out_covers_its_channel_or_every_channel_by_scope_and_day(
    settings, scope, all_from, at, covered
):
    settings.OPT_OUT_SCOPE, settings.OPT_OUT_SCOPE_ALL_FROM = scope, all_from
    settings.TIME_ZONE = "America/New_York"
    assert channels_revoked(SMS, at) == covered
    # The channel it came in comes first.
    assert channels_revoked(CALLS, at) == ((CALLS, SMS) if len(covered) > 1 else (CALLS,))


def test_a_revocation_of_every_channel_writes_a_ledger_row_for_each(db, settings):
    settings.OPT_OUT_SCOPE = "all"
    contact = ContactFactory(phone="+14155550100")
    covered = services.record_revocation(
        phone="(415) 555-0100", channel=CALLS, source=Source.DIGIT, words=pressed("9")
    )
    assert covered == (CALLS, SMS)
    assert fresh(contact).opt_in_status(SMS) == fresh(contact).opt_in_status(CALLS) == "hard"
    assert sorted(ledger(contact)) == [
        ("calls", "subscribed", "hard", "digit"), ("sms", "subscribed", "hard", "digit"),
    ]  # fmt: skip
    number = ConsentEvent.objects.filter(contact=None).values_list("channel", "note")
    assert sorted(number) == [("calls", "pressed 9"), ("sms", "pressed 9")]
