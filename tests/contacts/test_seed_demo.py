from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, PhoneOptOut
from contacts.phones import normalize_phone

SMS, CALLS = Channel.SMS, Channel.CALLS


def states() -> set[tuple[str, str]]:
    return {
        (c.opt_in_status(SMS).value, c.opt_in_status(CALLS).value)
        for c in Contact.objects.prefetch_related("opt_outs")
    }


@pytest.mark.parametrize("first_id_modulo_100", [1, 47, 97])
def test_it_covers_every_opt_in_state(db, first_id_modulo_100):
    """Wherever the database's ids start: 1 when it is fresh, and in a test run wherever
    earlier tests left the sequence. The states once followed the ids, and with the first id
    at 47 or 97 (modulo 100) hard SMS with soft calls went missing."""
    next_id = Contact.objects.create(name="Before", phone="+14155550199").pk + 1
    Contact.objects.bulk_create(Contact(name="Before", phone="+14155550199")
                                for _ in range((first_id_modulo_100 - next_id) % 100))  # fmt: skip
    Contact.objects.filter(name="Before").delete()
    call_command("seed_demo", verbosity=0)
    assert Contact.objects.count() == 302
    s, soft, hard = OptInStatus.SUBSCRIBED, OptInStatus.SOFT, OptInStatus.HARD
    expected = {
        (s, s), (soft, s), (hard, s), (s, soft), (s, hard), (soft, soft), (hard, hard),
        (hard, soft), (soft, hard),
    }  # fmt: skip
    assert expected <= states()
    assert {"active", "do_not_contact", "archived"} == set(
        Contact.objects.values_list("status", flat=True)
    )


def test_its_hard_opt_outs_are_the_contacts_own_actions_on_shared_numbers(db):
    call_command("seed_demo", verbosity=0)
    stop = PhoneOptOut.objects.filter(channel=SMS).first()
    assert (stop.source, stop.words) == ("keyword", "STOP")
    assert PhoneOptOut.objects.filter(channel=CALLS, source="digit").exists()
    phones = list(Contact.objects.values_list("phone", flat=True))
    assert len(phones) > len(set(phones)), "some contacts share a number"
    # Every hard opt-out has its ledger rows.
    hard = Contact.objects.opted_out_of(SMS, "hard")
    assert all(c.consent_events.filter(after="hard").exists() for c in hard)


def test_it_includes_the_briefs_contacts_a_and_b(db):
    call_command("seed_demo", verbosity=0)
    a = Contact.objects.get(name="Contact A")
    b = Contact.objects.get(name="Contact B")
    assert (a.opt_in_status(SMS), a.opt_in_status(CALLS)) == ("soft", "subscribed")
    assert (b.opt_in_status(SMS), b.opt_in_status(CALLS)) == ("subscribed", "soft")


def test_its_phones_are_valid_and_realistic(db):
    call_command("seed_demo", "--contacts", "500", verbosity=0)
    assert Contact.objects.count() == 502
    for phone in Contact.objects.values_list("phone", flat=True):
        assert normalize_phone(phone) == phone
    assert Contact.objects.filter(tags__name="VIP").exists()
    assert Contact.objects.values("name").distinct().count() > 300


def test_it_is_idempotent(db):
    call_command("seed_demo", verbosity=0)
    events = ConsentEvent.objects.count()
    call_command("seed_demo", verbosity=0)
    assert Contact.objects.count() == 302
    assert ConsentEvent.objects.count() == events


def test_it_creates_the_demo_users_in_their_roles(db, settings):
    settings.DEMO_PASSWORD = "a-demo-password"
    call_command("seed_demo", verbosity=0)
    for username, role in (("staff", "Staff"), ("admin", "Admin"), ("manager", "Manager")):
        user = get_user_model().objects.get(username=username)
        assert user.check_password("a-demo-password"), username
        assert list(user.groups.values_list("name", flat=True)) == [role]


def test_its_hard_opt_outs_are_dated_as_their_ledger_rows_say(db):
    """The Opt-In tooltip ("opted out on …") and History show the same day."""
    call_command("seed_demo", verbosity=0)
    for opt_out in PhoneOptOut.objects.all():
        row = ConsentEvent.objects.filter(
            phone=opt_out.phone, channel=opt_out.channel, after="hard"
        ).earliest("at")
        assert abs(row.at - opt_out.opted_out_at) < timedelta(minutes=5), opt_out.phone


def test_its_consents_were_given_to_words_written_before_them(db):
    from contacts.models import ConsentRecord

    call_command("seed_demo", "--contacts", "300", verbosity=0)
    records = ConsentRecord.objects.exclude(disclosure=None).select_related("disclosure")
    assert records.count() > 100
    assert [r for r in records if r.disclosure.created_at > r.given_at] == []
