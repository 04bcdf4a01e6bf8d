"""Possible opt-outs: who wrote, what, when and how long it has waited; everyone who reads
replies may decide, and confirming, which no one can undo, asks once more."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from contacts.models import Channel, Contact, OptInStatus, PhoneOptOut
from crm.roles import ADMIN, MANAGER, STAFF
from messaging.models import PossibleOptOut, ReviewStep, business_days_between
from tests.factories import ContactFactory, UserFactory

LIST = reverse("messaging:possible_opt_outs")
PHONE = "+14155550123"


@pytest.fixture
def review(db):
    return PossibleOptOut.objects.create(
        phone=PHONE,
        words="cancel my <b>appointment</b>",
        received_at=timezone.now() - timedelta(days=2, hours=3),
    )


def decide(client, review, decision, **extra):
    url = reverse("messaging:decide", args=[review.pk])
    return client.post(url, {"decision": decision, **extra}, follow=True)


def sms_status(contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS)


@pytest.mark.parametrize("role", [STAFF, ADMIN, MANAGER])
def test_every_role_may_decide(db, role):
    assert UserFactory(role=role).has_perm("messaging.decide_possibleoptout")


def test_it_shows_who_wrote_what_when_and_how_long_it_has_waited(client, staff_user, review):
    contact = ContactFactory(name="Ana Díaz", phone=PHONE)
    client.force_login(staff_user)
    page = client.get(LIST).content.decode()
    assert f'<a href="/contacts/{contact.pk}/">Ana Díaz</a>' in page
    assert "(415) 555-0123" in page and "+14155550123" not in page
    assert "cancel my &lt;b&gt;appointment&lt;/b&gt;" in page
    assert review.received_at.strftime("%-d %b %Y, %H:%M") in page
    assert "2\xa0days, 3\xa0hours" in page
    assert "Confirm: opt out…" in page and "Dismiss" in page


def test_a_shared_number_names_a_few_and_links_to_the_others(client, staff_user, review):
    for name in ["Ann", "Bob", "Cy", "Dee", "Eve"]:
        ContactFactory(name=name, phone=PHONE)
    PossibleOptOut.objects.create(phone="+14155550124", words="stop by at noon?")
    client.force_login(staff_user)
    page = client.get(LIST).content.decode()
    assert ">Ann</a>, " in page and ">Cy</a>, " in page and ">Dee</a>" not in page
    assert '<a href="/contacts/?q=%2B14155550123">2 more</a>' in page
    assert "No contact has this number" in page


def test_a_user_who_may_not_decide_sees_no_buttons_and_is_refused(client, review):
    reader = UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(reader)
    page = client.get(LIST).content.decode()
    assert "cancel my" in page and "Confirm: opt out" not in page
    assert 'value="dismissed"' not in page
    assert decide(client, review, "dismissed").status_code == 403
    assert PossibleOptOut.objects.get().decision == "pending"


def test_confirming_asks_once_more_and_changes_nothing_until_then(client, staff_user, review):
    contact = ContactFactory(name="Ana Díaz", phone=PHONE)
    client.force_login(staff_user)
    response = decide(client, review, "confirmed")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Opt (415) 555-0123 out of SMS for good?" in page
    assert "nobody here can undo it" in page and "cancel my &lt;b&gt;appointment" in page
    assert '<input type="hidden" name="sure" value="yes">' in page
    assert "Yes, opt (415) 555-0123 out of SMS" in page
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    assert PossibleOptOut.objects.get().decision == "pending"


def test_a_reply_about_both_channels_may_be_confirmed_for_the_one_it_asks(client, staff_user):
    """“please stop calling me so early” holds texts (which it came by) and calls: the
    reviewer may find it asks about calls alone, and stop only those; ticking nothing stops
    nothing and asks again."""
    contact = ContactFactory(phone=PHONE)
    review = PossibleOptOut.objects.create(
        phone=PHONE, words="please stop calling me so early", channels="sms calls"
    )
    client.force_login(staff_user)
    page = decide(client, review, "confirmed").content.decode()
    assert "Opt (415) 555-0123 out for good?" in page
    assert 'name="channels" value="sms" checked' in page
    assert 'name="channels" value="calls" checked' in page
    page = decide(client, review, "confirmed", sure="yes", choosing="yes").content.decode()
    assert "Tick what they ask to stop, or choose Not now." in page
    assert PossibleOptOut.objects.get().decision == "pending" and not PhoneOptOut.objects.exists()
    page = decide(
        client, review, "confirmed", sure="yes", choosing="yes", channels=["calls"]
    ).content.decode()
    assert "(415) 555-0123: opted out of Calls &amp; Voicemails (hard)" in page
    assert list(PhoneOptOut.objects.values_list("channel", flat=True)) == ["calls"]
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    assert PossibleOptOut.objects.get().decision == "confirmed"


def test_a_confirmation_for_one_channel_says_which_under_decided(client, staff_user):
    contact = ContactFactory(phone=PHONE)
    review = PossibleOptOut.objects.create(
        phone=PHONE, words="please stop calling me so early", channels="sms calls"
    )
    client.force_login(staff_user)
    decide(client, review, "confirmed", sure="yes", choosing="yes", channels=["calls"])
    assert sms_status(contact) == OptInStatus.SUBSCRIBED  # as the reviewer chose
    decided = client.get(LIST).content.decode().split("<h2>Decided</h2>", 1)[1]
    assert f"Confirmed: opted out of Calls &amp; Voicemails by {staff_user.username}, " in decided


@pytest.mark.parametrize("first", ["calls", "dismissed"])
def test_a_confirmation_made_sure_of_holds_over_a_narrower_or_other_decision(
    client, staff_user, first
):
    """Two reviewers had the review open: Ben confirms calls alone, or dismisses it; Ana, on
    the page she had open, confirms texts and calls. A hard opt-out only widens: hers is
    recorded too, and both steps are kept. The same confirmation again changes nothing."""
    contact = ContactFactory(phone=PHONE)
    review = PossibleOptOut.objects.create(
        phone=PHONE, words="please stop calling me so early", channels="sms calls"
    )
    client.force_login(UserFactory(role=STAFF, username="ben"))
    if first == "calls":
        decide(client, review, "confirmed", sure="yes", choosing="yes", channels=["calls"])
    else:
        decide(client, review, "dismissed")
    client.force_login(staff_user)
    both = {"sure": "yes", "choosing": "yes", "channels": ["sms", "calls"]}
    page = decide(client, review, "confirmed", **both).content.decode()
    assert sms_status(contact) == OptInStatus.HARD
    assert contact.opt_in_status(Channel.CALLS) == OptInStatus.HARD
    added = "SMS" if first == "calls" else "SMS and Calls &amp; Voicemails"
    assert f"(415) 555-0123: opted out of {added} (hard)" in page
    assert PossibleOptOut.objects.get().decision == "confirmed"
    assert [s.by.username for s in ReviewStep.objects.all()] == ["ben", staff_user.username]
    assert "already decided" in decide(client, review, "confirmed", **both).content.decode()
    assert ReviewStep.objects.count() == 2


def test_confirming_once_sure_records_a_hard_opt_out_in_their_words(client, staff_user, review):
    contact = ContactFactory(name="Ana Díaz", phone=PHONE)
    client.force_login(staff_user)
    response = decide(client, review, "confirmed", sure="yes")
    assert "Ana Díaz, (415) 555-0123: opted out of SMS (hard), in their words." in (
        response.content.decode()
    )
    opt_out = Contact.objects.get(pk=contact.pk).opt_out_for(Channel.SMS)
    assert (opt_out.kind, opt_out.words) == ("hard", "cancel my <b>appointment</b>")
    review.refresh_from_db()
    assert (review.decision, review.decided_by) == ("confirmed", staff_user)


def test_a_number_without_contacts_is_opted_out_too(client, staff_user, review):
    client.force_login(staff_user)
    response = decide(client, review, "confirmed", sure="yes")
    assert "(415) 555-0123: opted out of SMS (hard)" in response.content.decode()
    assert PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.SMS).exists()


def test_dismissing_changes_nothing_and_a_second_decision_is_ignored(client, staff_user, review):
    """A second dismissal, or a confirmation not yet made sure of, changes nothing. (One made
    sure of, from a page opened before, holds: see below.)"""
    contact = ContactFactory(phone=PHONE)
    client.force_login(staff_user)
    assert "dismissed; nothing changed" in decide(client, review, "dismissed").content.decode()
    for decision in ("dismissed", "confirmed"):
        response = decide(client, review, decision)
        assert "already decided" in response.content.decode()
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    assert PossibleOptOut.objects.get().decision == "dismissed"


def reopen(client, review):
    return client.post(reverse("messaging:reopen", args=[review.pk]), follow=True)


def test_a_dismissal_made_by_mistake_is_reopened_and_holds_the_number_again(
    client, staff_user, review
):
    client.force_login(staff_user)
    page = decide(client, review, "dismissed").content.decode()
    assert "Reopen it under Decided if that was a mistake." in page
    assert not PossibleOptOut.holding(Channel.SMS).exists()  # what SMS broadcasts skip
    page = reopen(client, review).content.decode()
    assert "(415) 555-0123: to review again." in page
    review.refresh_from_db()
    assert (review.decision, review.decided_by, review.decided_at) == ("pending", None, None)
    assert list(PossibleOptOut.holding(Channel.SMS)) == [review]
    # Pending again, it is decided as any other; a second reopen changes nothing.
    assert "not dismissed any more" in reopen(client, review).content.decode()
    decide(client, review, "confirmed", sure="yes")
    assert "not dismissed any more" in reopen(client, review).content.decode()
    assert PossibleOptOut.objects.get().decision == "confirmed"


def test_a_review_the_number_answered_itself_meanwhile_is_closed_not_reopened(
    client, staff_user, review
):
    from contacts import services
    from contacts.models import Source

    client.force_login(staff_user)
    decide(client, review, "dismissed")
    services.record_revocation(
        phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
    )
    page = reopen(client, review).content.decode()
    assert "the number has opted out of it itself since" in page
    assert PossibleOptOut.objects.get().decision == "opted_out"


def test_only_who_may_decide_reopens_and_only_by_post(client, staff_user, review):
    review.decision = "dismissed"
    review.save()
    reader = UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(reader)
    assert "Dismissed" in client.get(LIST).content.decode()
    assert "Reopen" not in client.get(LIST).content.decode()
    assert reopen(client, review).status_code == 403
    client.force_login(staff_user)
    assert "Reopen</button>" in client.get(LIST).content.decode()
    assert client.get(reverse("messaging:reopen", args=[review.pk])).status_code == 405
    assert PossibleOptOut.objects.get().decision == "dismissed"


@pytest.mark.parametrize("decision", ["maybe", "", "CONFIRMED"])
def test_a_bad_decision_is_a_400(client, staff_user, review, decision):
    client.force_login(staff_user)
    assert decide(client, review, decision, sure="yes").status_code == 400
    assert PossibleOptOut.objects.get().decision == "pending"


def test_an_unknown_review_is_a_404_and_a_get_leads_to_the_list(client, staff_user, review):
    client.force_login(staff_user)
    assert client.post(reverse("messaging:decide", args=[review.pk + 1])).status_code == 404
    response = client.get(reverse("messaging:decide", args=[review.pk]))
    assert (response.status_code, response.url) == (302, reverse("messaging:possible_opt_outs"))


@pytest.mark.parametrize(
    ("received", "now", "business_days"),
    [
        ("2026-12-04 10:00", "2026-12-04 17:00", 0),  # the same Friday
        ("2026-12-04 10:00", "2026-12-07 09:00", 1),  # Friday to Monday: the weekend is not
        ("2026-12-05 10:00", "2026-12-07 09:00", 1),  # Saturday to Monday
        ("2026-12-01 10:00", "2026-12-11 09:00", 8),  # Tuesday to Friday of the next week
        ("2026-12-01 10:00", "2026-12-14 09:00", 9),
        ("2026-11-02 10:00", "2026-12-14 09:00", 30),  # six weeks
    ],
)
def test_business_days_leave_weekends_out(settings, received, now, business_days):
    settings.TIME_ZONE = "America/New_York"
    zone = timezone.get_default_timezone()
    at = lambda text: timezone.make_aware(datetime.fromisoformat(text), zone)  # noqa: E731
    assert business_days_between(at(received), at(now)) == business_days


def test_a_reply_waiting_more_than_8_business_days_is_marked(client, staff_user):
    with time_machine.travel(datetime(2026, 12, 1, 15, tzinfo=UTC), tick=False):
        PossibleOptOut.objects.create(phone=PHONE, words="no more of this please")
    with time_machine.travel(datetime(2026, 12, 4, 15, tzinfo=UTC), tick=False):
        PossibleOptOut.objects.create(phone="+14155550124", words="remove me maybe")
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 14, 15, tzinfo=UTC), tick=False):
        page = client.get(LIST).content.decode()
    assert page.count('class="overdue"') == 1
    assert "9 business days: decide now" in page
    assert "6 business days</span>" in page
    assert "replies that have waited more than 8 are marked" in page


def test_reopening_a_dismissal_kept_for_its_wording_forgets_the_wording(sms, admin_client):
    """A dismissal made by mistake with "Same for this wording" also taught the wording as
    ordinary. Reopened, the wording is forgotten: the next such reply waits for review, as
    the reopened one does."""
    from messaging.models import ReplyPhrase

    sms("Who is this? Do I know you?")
    review = PossibleOptOut.objects.get()
    admin_client.post(
        reverse("messaging:decide", args=[review.pk]),
        {"decision": "dismissed", "keep_wording": "yes"},
    )
    assert ReplyPhrase.objects.filter(meaning="ordinary").exists()
    page = reopen(admin_client, review).content.decode()
    assert "no longer kept as ordinary: such replies are reviewed again" in page
    review.refresh_from_db()
    assert review.decision == "pending"
    sms("who is this?? do i know you", phone="+14155550124")
    assert PossibleOptOut.objects.filter(phone="+14155550124").exists()


def test_each_decision_is_kept_with_who_made_it_and_when(client, staff_user, admin_user, review):
    """Dismissed, reopened, then confirmed: the review shows all three, each with its user
    and time, while it waits again and once it is decided."""
    from messaging.models import ReviewStep

    client.force_login(staff_user)
    decide(client, review, "dismissed")
    client.force_login(admin_user)
    page = reopen(client, review).content.decode()
    pending_row = page.split("<h2>Decided</h2>")[0]
    staff, admin = staff_user.username, admin_user.username
    assert re.search(rf"Dismissed by {staff}, \d+ \w+ \d{{4}}, \d\d:\d\d</span>", pending_row)
    assert f"Reopened by {admin}, " in pending_row
    page = decide(client, review, "confirmed", sure="yes").content.decode()
    decided = page.split("<h2>Decided</h2>")[1]
    steps = re.findall(r"(Dismissed|Reopened|Confirmed: opted out)(?: of SMS)? by (\w+), ", decided)
    assert steps == [
        ("Dismissed", staff),
        ("Reopened", admin),
        ("Confirmed: opted out", admin),
    ]
    assert [s.step for s in ReviewStep.objects.all()] == ["dismissed", "reopened", "confirmed"]


def test_a_review_closed_by_the_number_s_own_opt_out_says_so_as_a_step(client, staff_user, review):
    from contacts import services
    from contacts.models import Source
    from messaging.models import ReviewStep

    services.record_revocation(
        phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
    )
    PossibleOptOut.close_answered(PHONE)
    [step] = ReviewStep.objects.all()
    assert (step.review_id, step.step, step.by) == (review.pk, "opted_out", None)
    client.force_login(staff_user)
    assert "Closed: the number opted out itself since, " in client.get(LIST).content.decode()


def test_reopen_says_closed_only_of_the_review_it_closed(client, staff_user, review):
    """The number opted out of SMS itself, not of calls: the reopened review, which stops
    both, waits again. Another review of the number, answered (its close missed, as a STOP
    racing a reopen may leave it), is closed: the message does not say this one was."""
    from contacts import services
    from contacts.models import Source

    client.force_login(staff_user)
    review.channels = "sms calls"
    review.decision = "dismissed"
    review.save()
    services.record_revocation(
        phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
    )
    PossibleOptOut.objects.create(phone=PHONE, words="no more texts?")  # answered, still open
    page = reopen(client, review).content.decode()
    review.refresh_from_db()
    assert review.decision == "pending"
    assert "the number has opted out of it itself since" not in page
    assert "to review again" in page


def test_reopen_refuses_what_it_should_and_leaves_other_decisions(client, staff_user, review):
    """An unknown review is a 404, a GET a 405, a POST without its CSRF token a 403; a review
    pending, confirmed or closed by the number's own opt-out stays as it is."""
    from django.test import Client

    client.force_login(staff_user)
    assert client.post(reverse("messaging:reopen", args=[999999])).status_code == 404
    assert client.get(reverse("messaging:reopen", args=[review.pk])).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_user)
    review.decision = "dismissed"
    review.save()
    assert strict.post(reverse("messaging:reopen", args=[review.pk])).status_code == 403
    assert PossibleOptOut.objects.get().decision == "dismissed"
    for decision in ("pending", "confirmed", "opted_out"):
        review.decision = decision
        review.save()
        assert "nothing changed" in reopen(client, review).content.decode()
        assert PossibleOptOut.objects.get().decision == decision
