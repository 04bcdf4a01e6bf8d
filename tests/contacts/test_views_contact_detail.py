from datetime import UTC, datetime
from html import escape

import pytest
import time_machine
from django.urls import reverse

from contacts import services
from contacts.models import Channel, Contact, PhoneOptOut, Source, Tag, short_date
from tests.factories import ContactFactory


def url(contact: Contact) -> str:
    return reverse("contacts:detail", args=[contact.pk])


@pytest.fixture
def contact(admin_role_user):
    contact = ContactFactory(name="Mae Moss", phone="+14155550150")
    services.unsubscribe(contact=contact, channel=Channel.CALLS, by_user=admin_role_user)
    services.record_hard_opt_out(
        phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD, words="Stop!"
    )
    return contact


@pytest.fixture
def subscribed(db):
    return ContactFactory(name="Mae Moss", phone="+14155550150")


def test_it_shows_details_status_and_history(client, staff_user, contact):
    client.force_login(staff_user)
    page = client.get(url(contact)).content.decode()
    assert "(415) 555-0150" in page
    assert 'aria-label="SMS: opted out (hard)"' in page
    assert 'aria-label="Calls &amp; Voicemails: opted out (soft)"' in page
    timeline = [str(e) for e in client.get(url(contact)).context["timeline"]]
    assert timeline == [  # one STOP, one entry
        "SMS: subscribed → hard",
        "Calls & Voicemails: subscribed → soft",
    ]
    assert "replied “Stop!”" in page
    assert "for the number" not in page
    assert "Save" not in page  # no edit form for Staff


def test_an_admin_edits_the_contact(client, admin_role_user, contact):
    client.force_login(admin_role_user)
    vip = Tag.objects.create(name="VIP")
    ContactFactory(name="Amelia Mensah", phone="+14155550160")  # has the new number
    edit = {"name": "Mae M.", "phone": "(415) 555-0160", "email": "mae@example.com",
            "status": "do_not_contact", "tags": [vip.pk]}  # fmt: skip
    asked = client.post(url(contact), edit).content.decode()
    assert "Amelia Mensah has this number too" in asked  # before it is saved
    assert Contact.objects.get(pk=contact.pk).name != "Mae M."
    response = client.post(url(contact), edit | {"confirmed_phone": "+14155550160"}, follow=True)
    assert "Mae M.: saved." in response.content.decode()
    contact.refresh_from_db()
    assert (contact.name, contact.phone, contact.status) == (
        "Mae M.",
        "+14155550160",
        "do_not_contact",
    )
    assert list(contact.tags.all()) == [vip]
    assert contact.opt_in_status(Channel.SMS) == "hard"  # a new phone keeps it
    assert PhoneOptOut.objects.get(phone="+14155550160").words == "+14155550150"
    page = client.get(url(contact)).content.decode()
    assert "carried over from (415) 555-0150 when the number changed" in page


def test_a_number_that_opted_out_is_saved_only_after_a_warning(client, admin_role_user, db):
    services.record_hard_opt_out(
        phone="+19192000014", channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
    )
    typo = ContactFactory(name="Ty Po", phone="+19192000041")
    client.force_login(admin_role_user)
    data = {"name": "Ty Po", "phone": "(919) 200-0014", "status": "active"}
    page = client.post(url(typo), data).content.decode()
    assert "(919) 200-0014 replied “STOP” on " in page
    assert "this contact will not receive SMS while it has this number" in page
    assert Contact.objects.get(pk=typo.pk).phone == "+19192000041"  # not yet
    assert '<dd>(919) 200-0041 <span class="muted">+19192000041</span></dd>' in page
    assert 'name="confirmed_phone" value="+19192000014"' in page
    response = client.post(url(typo), data | {"confirmed_phone": "+19192000014"}, follow=True)
    assert "Ty Po: saved." in response.content.decode()
    assert Contact.objects.get(pk=typo.pk).opt_in_status(Channel.SMS) == "hard"
    page = response.content.decode()
    # The tooltip and the history say the number did it, before this contact had it.
    assert "(919) 200-0014 replied “STOP” on " in page
    assert "(before this contact had the number)" in page
    assert "or for this contact, when its number changes" in page
    assert "(919) 200-0014 replied “STOP”, before this contact had the number" in page
    # Back to the right number: no longer opted out, and the history says why.
    data["phone"] = "+19192000041"
    page = client.post(url(typo), data, follow=True).content.decode()
    assert Contact.objects.get(pk=typo.pk).opt_in_status(Channel.SMS) == "subscribed"
    assert "moved away from (919) 200-0014, which had opted out before" in page


def test_an_invalid_edit_shows_the_error_and_changes_nothing(client, admin_role_user, contact):
    client.force_login(admin_role_user)
    response = client.post(url(contact), {"name": "", "phone": "12ab", "status": "active"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "“12ab” is not a valid phone number." in page
    assert "This field is required." in page
    assert Contact.objects.get(pk=contact.pk).name == "Mae Moss"


def test_an_edit_not_saved_says_so_above_the_page_linking_each_problem(
    client, admin_role_user, contact
):
    """The form is the page's fourth card: what to correct is said where the page opens, each
    problem a link to its field, or to the form for a number to confirm."""
    client.force_login(admin_role_user)
    page = client.post(url(contact), {"name": "", "phone": "12ab", "status": "active"})
    page = page.content.decode()
    summary = page.index('class="errornote not-saved" role="alert"')
    assert summary < page.index("<h2>Details</h2>") < page.index('id="edit"')
    assert '<a href="#id_name">Name: This field is required.</a>' in page
    assert '<a href="#id_phone">Phone: “12ab” is not a valid phone number.</a>' in page
    ContactFactory(name="Al Other", phone="+14155550199")
    data = {"name": "Mae Moss", "phone": "+14155550199", "status": "active"}
    page = client.post(url(contact), data).content.decode()
    assert '<a href="#edit">Save again to give the contact this number.</a>' in page
    assert client.get(url(contact)).content.decode().count("not-saved") == 0
    # A field drawn as many boxes has no id of its own: its problem links to the form.
    data = {"name": "Mae Moss", "phone": contact.phone, "status": "active", "tags": [999999]}
    page = client.post(url(contact), data).content.decode()
    assert '<a href="#edit">Tags: Select a valid choice.' in page


def test_a_tag_id_past_64_bits_is_an_error_and_changes_nothing(client, admin_role_user, contact):
    vip = Tag.objects.create(name="VIP")
    client.force_login(admin_role_user)
    data = {"name": "Mae Moss", "phone": contact.phone, "status": "active", "tags": [vip.pk, 2**64]}
    response = client.post(url(contact), data)
    assert response.status_code == 200
    assert f"{2**64} is not one of the available choices." in response.content.decode()
    assert not Contact.objects.get(pk=contact.pk).tags.exists()


def test_staff_cannot_post_an_edit(client, staff_user, contact):
    client.force_login(staff_user)
    assert client.post(url(contact), {"name": "X", "phone": contact.phone}).status_code == 403
    assert Contact.objects.get(pk=contact.pk).name == "Mae Moss"


def test_an_unknown_contact_is_a_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("contacts:detail", args=[424242])).status_code == 404


def card_words(page: str) -> list[str]:
    """What the Opt-In card says beside its icons."""
    start = page.index('<span class="opt-in-words">')
    words = page[start:].split('<span class="opt-in-words">')[1:]
    return [part.split("</span>", 1)[0] for part in words]


def test_the_opt_in_card_says_subscribed_in_words(client, staff_user):
    contact = ContactFactory()
    client.force_login(staff_user)
    page = client.get(url(contact)).content.decode()
    assert card_words(page) == [
        "SMS: Subscribed — no consent on record",
        "Calls &amp; Voicemails: Subscribed — no consent on record",
    ]


def test_the_opt_in_card_says_who_opted_out_soft_and_when(client, staff_user, contact):
    client.force_login(staff_user)
    page = client.get(url(contact)).content.decode()
    when = short_date(contact.opt_outs.get(channel=Channel.CALLS).opted_out_at)
    assert card_words(page)[1] == (
        f"Calls &amp; Voicemails: Opted out (soft) — by admintest on {when}"
    )


@pytest.mark.parametrize(
    ("channel", "source", "words", "said"),
    [
        (Channel.SMS, Source.KEYWORD, "STOP", "SMS: Opted out (hard) — replied “STOP”"),
        (Channel.SMS, Source.KEYWORD, "Stop!", "SMS: Opted out (hard) — replied “Stop!”"),
        (Channel.CALLS, Source.DIGIT, "pressed 9",
         "Calls & Voicemails: Opted out (hard) — pressed 9"),
        (Channel.CALLS, Source.DIGIT, "",
         "Calls & Voicemails: Opted out (hard) — pressed the unsubscribe digit"),
        (Channel.SMS, Source.CARRIER, "", "SMS: Opted out (hard) — reported by the carrier"),
        (Channel.SMS, Source.IMPORT, "", "SMS: Opted out (hard) — imported as opted out"),
    ],
)  # fmt: skip
def test_the_opt_in_card_says_how_and_when_a_hard_opt_out_came(
    client, staff_user, channel, source, words, said
):
    contact = ContactFactory(phone="+14155550180")
    at = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
    services.record_hard_opt_out(
        phone=contact.phone, channel=channel, source=source, words=words, at=at
    )
    client.force_login(staff_user)
    page = client.get(url(contact)).content.decode()
    assert escape(f"{said} on 29 Nov 2026") in card_words(page)


def test_a_change_made_on_the_contact_page_reads_the_whole_page_again(admin_client, contact):
    """Its card, history and consent change together: htmx reloads the page, which then says
    what changed, rather than swapping the card alone and leaving the history behind."""
    page = admin_client.get(url(contact)).content.decode()
    assert '<input type="hidden" name="words" value="1">' in page
    response = admin_client.post(
        reverse("contacts:subscription", args=[contact.pk]),
        {"channel": "calls", "action": "resubscribe", "next": url(contact), "words": "1"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response["HX-Refresh"] == "true"
    page = admin_client.get(url(contact)).content.decode()
    assert "resubscribed to Calls &amp; Voicemails." in page
    assert card_words(page)[1] == "Calls &amp; Voicemails: Subscribed — no consent on record"
    assert "Opted out (soft) → Subscribed" in page.split("<h2>History")[1]


def test_the_contacts_table_shows_no_words_beside_its_icons(admin_client, contact):
    page = admin_client.get(reverse("contacts:list")).content.decode()
    assert "Resubscribe to Calls &amp; Voicemails" in page  # with its menus
    assert 'aria-label="SMS: opted out (hard)"' in page
    assert "opt-in-words" not in page and 'name="words"' not in page


@pytest.mark.parametrize("user", ["staff_user", "admin_role_user"])  # icons, and icon menus
def test_an_opt_out_s_words_render_as_text_on_the_card(client, request, user, db):
    payload = """<script>alert("x")</script> & 'q'"""
    contact = ContactFactory(name=f"Ed {payload}")
    services.record_hard_opt_out(
        phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD, words=f"STOP {payload}"
    )
    client.force_login(request.getfixturevalue(user))
    page = client.get(url(contact)).content.decode()
    assert "<script>" not in page
    assert f"replied “STOP {escape(payload)}” on" in page  # in the tooltip
    assert escape(f"SMS: Opted out (hard) — replied “STOP {payload}”") in page  # in words


def test_the_page_says_the_contact_s_local_time_from_the_number(client, staff_user, contact):
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 9, 18, 5, tzinfo=UTC), tick=False):
        page = client.get(url(contact)).content.decode()
    assert (
        "<dt>Local time</dt><dd><strong>10:05 Wed</strong> · "
        "Pacific (America/Los_Angeles), CA — from the number</dd>"
    ) in page  # quiet hours are off: nothing said of them


WAIT = "Quiet hours now: broadcasts wait"


@pytest.mark.parametrize(
    ("utc_hour", "said"),
    [
        (18, "Broadcasts may reach the number now (08:00–21:00 Pacific (CA))."),
        (15, f"{WAIT} until Wednesday 08:00 their time (08:00–21:00 Pacific (CA))."),
        # 21:00 on Tuesday there: the window that opens next is Wednesday's
        (5, f"{WAIT} until Wednesday 08:00 their time (08:00–21:00 Pacific (CA))."),
    ],
)
def test_the_page_says_whether_quiet_hours_hold_broadcasts_back_now(
    client, staff_user, subscribed, quiet_hours, utc_hour, said
):
    contact = subscribed
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 9, utc_hour, tzinfo=UTC), tick=False):
        page = client.get(url(contact)).content.decode()
    assert f'<span class="muted">{escape(said)}</span>' in page


def test_quiet_hours_on_the_page_keep_to_every_contact_of_the_number(
    client, staff_user, subscribed, quiet_hours
):
    """Another contact of the number says Florida: broadcasts wait for its window too, as the
    send does, though this contact's own clock says 17:30."""
    contact = subscribed
    ContactFactory(name="Ned Moss", phone=contact.phone, state="FL")
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 10, 1, 30, tzinfo=UTC), tick=False):
        page = client.get(url(contact)).content.decode()
    assert "<strong>17:30 Wed</strong>" in page
    assert (  # 20:30 in Florida's Eastern time; the phone may be in any of three zones
        "Quiet hours now: broadcasts wait until Thursday 08:00 Pacific time "
        "(08:00–20:00 in Central, Pacific and Eastern time (FL)). Other contacts of this number "
        "say other places: broadcasts wait for each."
    ) in page
    assert "Broadcasts may reach" not in page


def test_a_contact_in_three_zones_shows_each_clock(client, staff_user, quiet_hours):
    contact = ContactFactory(phone="+18505550123")  # 850: Florida's panhandle, two zones
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 9, 16, tzinfo=UTC), tick=False):
        page = client.get(url(contact)).content.decode()
    assert "<strong>10:00 Central, 11:00 Eastern</strong>" in page
    assert (
        "Broadcasts may reach the number now (08:00–20:00 in Central and Eastern time (FL))."
        in page
    )


def test_an_admin_sets_the_contact_s_time_zone_and_state(client, admin_role_user, contact):
    client.force_login(admin_role_user)
    page = client.get(url(contact)).content.decode()
    assert 'name="time_zone"' in page and '<option value="TX">Texas</option>' in page
    data = {"name": "Mae Moss", "phone": contact.phone, "status": "active"}
    response = client.post(url(contact), data | {"time_zone": " america/chicago", "state": "TX"},
                           follow=True)  # fmt: skip
    assert "Mae Moss: saved." in response.content.decode()
    contact.refresh_from_db()
    assert (contact.time_zone, contact.state) == ("America/Chicago", "TX")
    assert "Central (America/Chicago), TX — set for this contact" in response.content.decode()
    # Emptied, they come from the number again.
    page = client.post(url(contact), data | {"time_zone": "", "state": ""}, follow=True)
    page = page.content.decode()
    contact.refresh_from_db()
    assert (contact.time_zone, contact.state) == ("", "")
    assert "Pacific (America/Los_Angeles), CA — from the number" in page


def test_an_unknown_time_zone_or_state_is_an_error_and_changes_nothing(
    client, admin_role_user, contact
):
    client.force_login(admin_role_user)
    data = {"name": "Mae M.", "phone": contact.phone, "status": "active"}
    response = client.post(url(contact), data | {"time_zone": "Mars/Olympus", "state": "XX"})
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        escape("“Mars/Olympus” is not a time zone: use an IANA name, such as America/Chicago.")
        in page
    )
    assert escape("“XX” is not a US state or territory.") in page
    contact.refresh_from_db()
    assert (contact.name, contact.time_zone, contact.state) == ("Mae Moss", "", "")


def test_a_number_that_leaves_consent_behind_is_saved_only_after_a_warning(
    client, admin_role_user, db
):
    """Consent stays with the number it was given for: moving the contact makes it void, so
    the page says so first, and saves on a second click."""
    moved = ContactFactory(name="Mo Ved", phone="+14155550177")
    services.record_consent(
        phone=moved.phone, channel=Channel.SMS, method="web_form",
        given_at=datetime(2026, 11, 1, tzinfo=UTC), contact=moved,
    )  # fmt: skip
    client.force_login(admin_role_user)
    data = {"name": "Mo Ved", "phone": "(212) 555-7999", "status": "active"}
    page = client.post(url(moved), data).content.decode()
    assert "Its consent to SMS (" in page
    assert "was given for (415) 555-0177: it will be made void, and kept." in page
    assert "Save again to give the contact this number." in page
    moved.refresh_from_db()
    assert moved.phone == "+14155550177" and moved.sms_consent_on_record  # not yet
    response = client.post(url(moved), data | {"confirmed_phone": "+12125557999"}, follow=True)
    assert "Mo Ved: saved." in response.content.decode()
    assert Contact.objects.get(pk=moved.pk).phone == "+12125557999"
    # A change of its other details asks nothing.
    page = client.post(url(moved), data | {"name": "Mo Ved Jr"}, follow=True).content.decode()
    assert "Mo Ved Jr: saved." in page


def test_the_warning_names_who_shares_the_old_number_and_loses_its_consent(
    client, admin_role_user, db
):
    """The consent was given for the number, which another contact has too: that contact is
    left with none on record, and the page says so before the second click."""
    moved = ContactFactory(name="Mo Ved", phone="+14155550177")
    sharer = ContactFactory(name="Sam Share", phone=moved.phone)
    services.record_consent(
        phone=moved.phone, channel=Channel.SMS, method="web_form",
        given_at=datetime(2026, 11, 1, tzinfo=UTC), contact=moved,
    )  # fmt: skip
    assert Contact.objects.get(pk=sharer.pk).sms_consent_on_record
    client.force_login(admin_role_user)
    data = {"name": "Mo Ved", "phone": "(212) 555-7999", "status": "active"}
    page = client.post(url(moved), data).content.decode()
    assert (
        "Sam Share, who shares (415) 555-0177, will have no consent to SMS on record then." in page
    )
    client.post(url(moved), data | {"confirmed_phone": "+12125557999"})
    assert not Contact.objects.get(pk=sharer.pk).sms_consent_on_record  # as the page said


def test_no_sharer_is_named_where_the_number_keeps_other_consent(client, admin_role_user, db):
    moved = ContactFactory(name="Mo Ved", phone="+14155550177")
    ContactFactory(name="Sam Share", phone=moved.phone)
    for contact in Contact.objects.all():
        services.record_consent(
            phone=moved.phone, channel=Channel.SMS, method="web_form",
            given_at=datetime(2026, 11, 1, tzinfo=UTC), contact=contact,
        )  # fmt: skip
    client.force_login(admin_role_user)
    data = {"name": "Mo Ved", "phone": "(212) 555-7999", "status": "active"}
    page = client.post(url(moved), data).content.decode()
    assert "it will be made void, and kept." in page
    assert "Sam Share, who shares" not in page


def test_the_page_says_when_a_number_s_quiet_hours_never_end(client, staff_user, settings):
    """Two contacts of one number, in New York and Tokyo, under windows too short to meet."""
    settings.QUIET_HOURS = {"default": ("08:00", "12:00")}
    contact = ContactFactory(phone="+12125550123", time_zone="America/New_York")
    ContactFactory(phone=contact.phone, time_zone="Asia/Tokyo")
    client.force_login(staff_user)
    page = client.get(url(contact)).content.decode()
    assert "Its quiet hours never end (08:00–12:00" in page
    assert "never opens): no broadcast reaches it." in page


@pytest.mark.parametrize("no_broadcast", ["opted out of both", "do_not_contact", "archived"])
def test_quiet_hours_are_not_said_of_a_contact_no_broadcast_reaches(
    client, staff_user, quiet_hours, no_broadcast
):
    """Saying broadcasts wait would read as if one were on its way (a new user's
    click-through)."""
    contact = ContactFactory(phone="+14155550150")
    if no_broadcast == "opted out of both":
        for channel in Channel:
            services.unsubscribe(contact=contact, channel=channel, by_user=None)
    else:
        Contact.objects.filter(pk=contact.pk).update(status=no_broadcast)
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 9, 15, tzinfo=UTC), tick=False):
        page = client.get(url(contact)).content.decode()
    assert "<strong>07:00 Wed</strong>" in page
    assert "Quiet hours now" not in page and "Broadcasts may reach" not in page


def test_zones_whose_clocks_agree_show_one_clock(client, staff_user):
    """London's number is in four zones (Guernsey, the Isle of Man, Jersey, London): one
    clock, not none."""
    contact = ContactFactory(phone="+442079460000")
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 9, 16, tzinfo=UTC), tick=False):
        page = client.get(url(contact)).content.decode()
    assert "<dt>Local time</dt><dd><strong>16:00 Wed</strong> · any of 4 time zones" in page


@pytest.mark.parametrize("stored", ["Mars/Olympus", "EST", "Etc/GMT+5"])
def test_a_time_zone_written_in_sql_past_the_checks_is_the_number_s(
    client, staff_user, subscribed, quiet_hours, stored
):
    """No page fails on it, and quiet hours keep to the number's place, as for a contact with
    no time zone of its own."""
    Contact.objects.filter(pk=subscribed.pk).update(time_zone=stored)
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 9, 15, tzinfo=UTC), tick=False):
        page = client.get(url(subscribed)).content.decode()
    assert (
        "<strong>07:00 Wed</strong> · Pacific (America/Los_Angeles), CA — from the number" in page
    )
    assert "Quiet hours now: broadcasts wait until Wednesday 08:00 their time" in page


def test_a_state_of_its_own_keeps_the_area_code_s_hours_too(client, staff_user, quiet_hours):
    """A Tulsa number whose contact says Texas: at 20:30 Central, Texas's window is open but
    Oklahoma's (08:00–20:00), which presumes the number its resident's, is not."""
    contact = ContactFactory(phone="+19185550101", state="TX")
    client.force_login(staff_user)
    with time_machine.travel(datetime(2026, 12, 8, 2, 30, tzinfo=UTC), tick=False):
        page = client.get(url(contact)).content.decode()
    assert (
        f"{WAIT} until Tuesday 09:00 Mountain time (09:00–21:00 Mon–Sat, 12:00–21:00 Sun in "
        "Central and Mountain time (TX)). Its area code is in OK: broadcasts keep that "
        "state&#x27;s hours too."
    ) in page


def test_a_history_of_status_changes_alone_says_the_channels_never_changed(client, staff_user):
    """Marked "Do not contact" and back: the history shows both changes, and says the
    channels did not change, not that nothing did."""
    from contacts import services

    contact = ContactFactory()
    for before, after in (("active", "do_not_contact"), ("do_not_contact", "active")):
        contact.status = after
        services.keep_status_change(contact, before, by_user=None, how="in a test")
    client.force_login(staff_user)
    page = client.get(url(contact)).content.decode()
    assert page.count("<strong>Status</strong>:") == 2
    assert "No changes yet" not in page
    assert (
        "No change of SMS or Calls &amp; Voicemails: subscribed to both since the contact was "
        "created." in page
    )
