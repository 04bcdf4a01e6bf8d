import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from broadcasts import services
from broadcasts.models import Broadcast
from contacts import services as contact_services
from contacts.models import Channel, Source, Tag
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import confirmed
from tests.factories import ContactFactory, UserFactory

NEW = reverse("broadcasts:new")


def sms_form(**fields) -> dict:
    return {"name": "Reminder", "channel": "sms", "body": "See you soon", **fields}


def test_a_manager_creates_previews_and_launches_an_sms_broadcast(
    manager_client, manager_user, django_capture_on_commit_callbacks
):
    vip = Tag.objects.create(name="VIP")
    ann, bob = ContactFactory(name="Ann"), ContactFactory(name="Bob")
    ann.tags.add(vip)
    bob.tags.add(vip)
    ContactFactory(name="Cy")  # not in the audience
    contact_services.unsubscribe(contact=bob, channel=Channel.SMS, by_user=manager_user)

    response = manager_client.post(NEW, sms_form(**{"audience-tag": vip.pk}))
    broadcast = Broadcast.objects.get()
    assert response.url == reverse("broadcasts:detail", args=[broadcast.pk])
    assert broadcast.audience == f"tag={vip.pk}"

    page = manager_client.get(response.url).content.decode()
    assert "1 will receive this" in page
    assert "Audience: Tag: VIP" in page
    assert "See you soon\nReply STOP to opt out" in page
    assert "<td>Opted out of this channel (soft)</td><td>1</td>" in page

    confirm = manager_client.get(reverse("broadcasts:launch", args=[broadcast.pk]))
    assert "goes to\n<strong>1</strong> phone number" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast))
    broadcast.refresh_from_db()
    assert broadcast.status == "done" and broadcast.launched_by == manager_user
    assert [m["to"] for m in LocmemBackend.outbox] == [ann.phone]
    progress = manager_client.get(reverse("broadcasts:progress", args=[broadcast.pk]))
    assert "1 of 1 done (100%)" in progress.content.decode()
    assert "hx-trigger" not in progress.content.decode()  # polling stops when done
    polled = manager_client.get(
        reverse("broadcasts:progress", args=[broadcast.pk]), headers={"HX-Request": "true"}
    )
    assert polled["HX-Refresh"] == "true"  # the watching page reloads once, finished


def test_the_contacts_tables_filters_come_along_with_their_count(manager_client):
    ContactFactory.create_batch(3)
    ContactFactory(status="archived")
    page = manager_client.get(NEW + "?sms=subscribed&status=active&sort=name").content.decode()
    assert re.search(r'<strong class="audience-count"[^>]*>3 contacts</strong>', page)
    assert '<option value="subscribed" selected>' in page
    assert '<option value="active" selected>' in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (sms_form(body=""), "Write the text of the SMS."),
        (sms_form(channel="calls", body=""), "Write a script to say, or give an audio URL"),
        (sms_form(channel="calls", script="Hi", audio_url="https://x.example/a.mp3"),
         "Write a script to say, or give an audio URL"),
        (sms_form(**{"audience-sms": "maybe"}), "Select a valid choice"),
        (sms_form(name=""), "This field is required."),
        # PostgreSQL refused an audience longer than its column (1,000): a DataError.
        (sms_form(**{"audience-q": "a" * 1200}), "Search for at most 254 characters"),
        (sms_form(**{"audience-q": "é" * 200}),  # 1,200 characters in a query string
         "Too long to keep with the broadcast: shorten the search."),
        (sms_form(purpose="marketing", urgent="on", urgent_reason="Sale ends"),
         "Only an informational broadcast can be urgent"),
        (sms_form(purpose="informational", urgent="on", urgent_reason="  "),
         "Say why it cannot wait"),
        (sms_form(purpose="political"), "Select a valid choice"),
        # Twilio refuses a text of more than 1,600 characters (21617): every message failed.
        (sms_form(body="x" * 1580), "As sent, the text has 1,602 characters: Twilio takes"),
        # Each link as long as the longest may be (15 digits and the largest contact id: 128
        # characters; a US number's with a contact of 12345, 112): 1,450 + 1 + 128 + the
        # opt-out line's 22.
        (sms_form(body="x" * 1450 + " {subscriptions_link}"),
         "As sent, the text has 1,601 characters"),
        (sms_form(channel="calls", body="", audio_url="ftp://example.com/a.mp3"),
         "Give an https:// address that Twilio can fetch."),
        (sms_form(channel="calls", body="", audio_url="http://localhost/a.mp3"),
         "Give an https:// address that Twilio can fetch."),
        # A merge field that nothing fills in went out as written, to every recipient.
        (sms_form(body="Hi {name}! See {first_name} and {name} at {subscriptions_link}"),
         "{name}, {first_name} would be sent as written, to everyone: nothing fills it in. "
         "The one filled in for each contact is {subscriptions_link}."),
        (sms_form(body="Hi { Name }"), "{ Name } would be sent as written"),
        (sms_form(channel="calls", body="", script="Hello {name}, your visit is due"),
         "{name} would be sent as written, to everyone: nothing fills it in. Write the words"),
        (sms_form(channel="calls", body="", script="Go to {subscriptions_link}"),
         "{subscriptions_link} would be sent as written"),
        # Twilio takes at most 4,000 characters of a call's instructions: every call failed.
        (sms_form(channel="calls", body="", script="x" * 3800),
         "instructions have 4,"),
        (sms_form(channel="calls", body="", script="x" * 3800),
         "Twilio takes at most 4,000. Shorten it by"),
        # "Press 1 now" stopped calls, and a call back that pressed 1 asked for them again.
        (sms_form(channel="calls", body="", script="Hi", unsubscribe_digit="1"),
         "Select a valid choice. 1 is not one of the available choices."),
    ],
)  # fmt: skip
def test_bad_input_is_explained_and_nothing_is_saved(manager_client, data, error):
    response = manager_client.post(NEW, data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Broadcast.objects.exists()
    if "would be sent as written" in error and data["channel"] == "sms":
        assert "Write the text of the SMS." not in response.content.decode()  # one error


def test_the_audience_is_kept_as_its_filters_read(manager_client):
    vip = Tag.objects.create(name="VIP")
    ann = ContactFactory(name="Ann")
    ann.tags.add(vip)
    # A tag id with a thousand leading zeros is the tag's id: kept as it reads.
    data = sms_form(**{"audience-q": "  Ann ", "audience-tag": "0" * 1000 + str(vip.pk)})
    response = manager_client.post(NEW, data)
    broadcast = Broadcast.objects.get()
    assert response.url == reverse("broadcasts:detail", args=[broadcast.pk])
    assert broadcast.audience == f"q=Ann&tag={vip.pk}"
    assert list(broadcast.audience_contacts()) == [ann]


def test_a_launched_broadcast_cannot_be_edited(manager_client):
    broadcast = Broadcast.objects.create(name="Sent", channel="sms", body="x", status="done")
    response = manager_client.post(reverse("broadcasts:edit", args=[broadcast.pk]), sms_form())
    assert response.status_code == 302
    assert Broadcast.objects.get().name == "Sent"


@pytest.mark.parametrize(("waiting", "words"), [(1, "1 message"), (2, "2 messages")])
def test_a_manager_cancels_a_sending_broadcast(manager_client, waiting, words):
    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x", status="sending")
    for n in range(waiting):
        broadcast.recipients.create(phone=f"+1415555010{n}")
    response = manager_client.post(reverse("broadcasts:cancel", args=[broadcast.pk]), follow=True)
    assert Broadcast.objects.get().status == "cancelled"
    assertContains(response, f"“B” cancelled; {words} will not be sent.")


def test_cancelling_a_broadcast_that_ended_since_says_so(manager_client):
    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x", status="done")
    response = manager_client.post(reverse("broadcasts:cancel", args=[broadcast.pk]), follow=True)
    assert Broadcast.objects.get().status == "done"
    assertContains(response, "“B” is done already: nothing to cancel.")


@pytest.mark.parametrize("role", ["Staff", "Admin"])
def test_staff_and_admins_see_broadcasts_but_cannot_create_or_launch(client, db, role):
    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x")
    client.force_login(UserFactory(role=role))
    assert client.get(reverse("broadcasts:list")).status_code == 200
    assert client.get(reverse("broadcasts:detail", args=[broadcast.pk])).status_code == 200
    assert client.post(NEW, sms_form()).status_code == 403
    assert (
        client.post(
            reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast)
        ).status_code
        == 403
    )
    assert client.post(reverse("broadcasts:cancel", args=[broadcast.pk])).status_code == 403
    assert Broadcast.objects.get().status == "draft"


@pytest.mark.parametrize(
    ("name", "channel", "heading"),
    [
        ("SMS promo", "sms", "<h1>SMS promo</h1>"),
        ("Promo by sms", "sms", "<h1>Promo by sms</h1>"),
        ("Promo", "sms", '<h1>Promo <span class="muted">(SMS)</span></h1>'),
        ("Promo", "calls", '<h1>Promo <span class="muted">(Calls &amp; Voicemails)</span></h1>'),
    ],
)
def test_the_heading_names_the_channel_unless_the_name_does(manager_client, name, channel, heading):
    broadcast = Broadcast.objects.create(name=name, channel=channel, body="x", script="Hi")
    page = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    assert heading in page


def test_a_line_break_is_kept_as_one_character_as_the_counter_counts_it(manager_client):
    # Browsers send a textarea's line break as CR LF.
    response = manager_client.post(NEW, sms_form(body="See you\r\nReply STOP to opt out"))
    broadcast = Broadcast.objects.get()
    assert broadcast.sms_text == "See you\nReply STOP to opt out"
    page = manager_client.get(response.url).content.decode()
    assert "29 characters (GSM-7): 1 segment a message." in page


def test_a_broadcast_is_marketing_unless_said_otherwise(manager_client):
    manager_client.post(NEW, sms_form())
    assert Broadcast.objects.get().purpose == Broadcast.Purpose.MARKETING


def test_an_urgent_informational_broadcast_keeps_and_shows_its_reason(manager_client):
    response = manager_client.post(NEW, sms_form(
        purpose="informational", urgent="on", urgent_reason="The office is flooded: closed today.",
    ))  # fmt: skip
    broadcast = Broadcast.objects.get()
    assert (broadcast.purpose, broadcast.urgent) == ("informational", True)
    page = manager_client.get(response.url).content.decode()
    assert "Informational: <strong>urgent</strong>, sent outside quiet hours." in page
    assert "Why: The office is flooded: closed today." in page


@pytest.mark.parametrize(
    ("channel", "words", "found"),
    [
        ("body", "Spring cleaning: 20% off whitening. Call to book!", "20% off"),
        ("body", "Our summer SALE starts today", "SALE"),
        ("body", "Descuento especial para usted", "Descuento"),
        ("script", "Buy one cleaning, get the second for $25.", "Buy"),
        # Review D: these were saved informational at once.
        ("body", "FREE teeth whitening this week. Call to book!", "FREE"),
        ("body", "Save 20% on whitening until Friday", "Save 20"),
        ("body", "Half price cleanings in June", "Half price"),
        ("body", "Limpieza a mitad de precio en junio", "mitad de precio"),
        # Review E: these passed the second form.
        ("body", "Whitening is free to new patients", "free"),
        ("body", "20 percent off every cleaning", "20 percent off"),
        ("body", "50%-off whitening", "50%-off"),
        # A review of the voice path: a script's numbers are written to be said.
        ("script", "Get twenty percent off teeth whitening this week.", "twenty percent off"),
        (
            "script",
            "Save fifty dollars on your next cleaning when you call today.",
            "Save fifty dollars",
        ),
        # Review C: one to nine, "dollar", "bucks", a price "just" so much.
        ("script", "Get nine dollars off your cleaning", "nine dollars off"),
        ("script", "Save one dollar on every visit", "Save one dollar"),
        ("script", "Fifty bucks off your cleaning this week", "Fifty bucks off"),
        ("body", "Big savings on whitening this week", "Big savings"),
        # Review D: hyphens, other words for an offer.
        ("body", "Half-price cleanings this week", "Half-price"),
        ("body", "Llévate 2 por 1 en limpiezas", "2 por 1"),
        ("body", "Exclusive offer for members", "Exclusive offer"),
        ("body", "Reduced price on whitening this week", "Reduced price"),
        ("body", "Enter to win a free electric toothbrush", "Enter to win"),
        ("body", "Ahorra veinte dólares en tu limpieza", "Ahorra veinte dólares"),
        ("script", "Two for one cleanings for the whole family, this month only.", "Two for one"),
        ("script", "Twenty-five dollars off your visit.", "Twenty-five dollars off"),
        ("body", "$40 off a cleaning in May", "$40 off"),
    ],
)
def test_an_informational_broadcast_that_promotes_must_be_said_so_twice(
    manager_client, channel, words, found
):
    """A new user's promotion to patients without consent on record: marked Informational,
    its preview jumped from 0 to 15 recipients, and nothing said it read as marketing."""
    fields = (
        {"channel": "calls", "script": words, "body": ""}
        if channel == "script"
        else {"body": words}
    )
    page = manager_client.post(NEW, sms_form(purpose="informational", **fields)).content.decode()
    assert f"This reads as marketing (“{found}”)" in page
    assert "It is informational: it promotes nothing" in page
    assert not Broadcast.objects.exists()
    manager_client.post(NEW, sms_form(purpose="marketing", **fields))
    assert Broadcast.objects.get().purpose == "marketing"
    manager_client.post(NEW, sms_form(purpose="informational", promotes_nothing="on", **fields))
    assert Broadcast.objects.filter(purpose="informational").count() == 1


@pytest.mark.parametrize(
    "body",
    ["Our office is closed today.", "Your appointment moved to 3pm. Feel free to call.",
     "Reminder: your cleaning is tomorrow at 9:00.", "Call our toll-free line: 800-555-0100.",
     "Save the date: we move to 12 Elm St on 1 May.", "Your balance of $25 is due Friday.",
     "Your balance of fifty dollars is due Friday.", "We are open from ten to five.",
     "Your appointment is at two, for one hour.",
     "Your cleaning is booked at 2 for 1 hour with Dr. Lee.", "Table for two for one hour.",
     "Save twenty minutes: check in online before your visit.",
     "Your copay is just twenty dollars, due at check-in.", "Your balance is only five dollars.",
     "Your health savings account card was declined.", "Your savings account statement is ready.",
     "Para ahorrar tiempo, llene el formulario antes de su cita.",
     "Complimentary valet parking is available during your visit."],
)  # fmt: skip
def test_an_informational_broadcast_that_only_tells_is_saved_at_once(manager_client, body):
    page = manager_client.post(NEW, sms_form(purpose="informational", body=body))
    assert page.status_code == 302
    assert "It is informational" not in manager_client.get(page.url).content.decode()


def test_a_reason_without_urgency_is_not_kept(manager_client):
    manager_client.post(NEW, sms_form(purpose="informational", urgent_reason="No reason"))
    assert Broadcast.objects.values_list("urgent", "urgent_reason").get() == (False, "")


@pytest.mark.parametrize(
    ("body", "line_added"),
    [
        ("Text STOP to quit", False),
        ("Reply STOP, or visit our site", False),
        ("Reply with “stop” to end these", False),
        ("Txt STOP 2 end", False),
        ("Offers: STOP to cancel", False),
        ("Responde STOP para cancelar", False),
        ("Envía STOP", False),
        ("Our unstoppable nonstop sale", True),
        ("Don't stop by without booking", True),
        ("stop by tomorrow", True),
        ("STOP by our office this week for a free whitening!", True),
        ("Don't STOP smiling: 20% off", True),
        ("Reply to book, and stop worrying", True),
        ("Don't reply STOP! Reply SAVE to keep your 500 points.", True),
        ("We will never text STOP to you. Big sale Saturday!", True),
        ("Never reply STOP or you lose your rewards. 20% off today.", True),
        ("Do not reply stop to end your points", True),
        ("No responda STOP", True),
        ("Don't miss out. Reply STOP to opt out", False),
        ("Don't ever reply STOP - reply SAVE for 20% off!", True),
        ("Never, ever reply STOP: reply SAVE to keep your discount.", True),
        ("Please don't just reply STOP, reply SAVE instead.", True),
        ("You shouldn't reply STOP, you'd miss our best deals!", True),
        ("No need to reply STOP, just reply YES for a coupon.", True),
        ("Don't you dare reply STOP! Reply SAVE for 20% off.", True),
        ("Responde STOP para no recibir más mensajes", False),
        ("Reply STOP to opt out, no purchase needed", False),
        ("Café promo: reply STOPé", False),  # ASCII words, as the form's counter reads them
        ("Promo! Reply ſtop to end", True),
    ],
)
def test_the_opt_out_line_is_added_unless_the_text_says_stop(body, line_added):
    sent = Broadcast(channel="sms", body=body).sms_text
    assert sent == (f"{body}\nReply STOP to opt out" if line_added else body)


def test_a_broadcast_that_nobody_would_receive_now_offers_no_launch(manager_client):
    opted_out = ContactFactory()
    contact_services.record_hard_opt_out(
        phone=opted_out.phone, channel=Channel.SMS, source=Source.KEYWORD
    )
    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x")
    page = manager_client.get(reverse("broadcasts:launch", args=[broadcast.pk])).content.decode()
    assert "Nobody would receive it now" in page
    assert "Yes, launch it" not in page


def test_a_voice_broadcast_s_page_gives_the_offer_the_call_makes(manager_client, settings):
    """What the page says follows the message is what the call says."""
    from messaging.twiml import voice_message

    settings.BUSINESS_NAME = "Demo Dental"
    b = Broadcast.objects.create(name="Recall", channel="calls", script="Time for a visit.")
    page = manager_client.get(reverse("broadcasts:detail", args=[b.pk])).content.decode()
    opening = re.search(r"First: “(.*?)”", page)[1]
    closing = re.search(r"Then: “(.*?)”", page)[1]
    assert opening == (
        "This is Demo Dental. To stop our calls, press 9 at any time, or call "
        "8 8 8, 5 5 5, 0 1 9 9 toll-free."
    )
    assert closing.endswith(
        "To stop receiving calls from Demo Dental, press 9 now, or call us back at "
        "8 8 8, 5 5 5, 0 1 9 9 and press 9."
    )
    said = voice_message(script=b.script, digit=b.unsubscribe_digit)
    assert f"<Say>{opening}</Say><Say>Time for a visit.</Say>" in said
    assert "".join(f"<Say>{part}.</Say>" for part in closing[:-1].split(". ")) in said


def test_a_long_script_within_twilio_s_limit_is_saved(manager_client):
    manager_client.post(NEW, sms_form(channel="calls", body="", script="Hello. " * 400))
    assert len(Broadcast.objects.get().script) == 2799


def test_a_preview_that_reaches_nobody_is_not_shown_as_good_news(manager_client):
    """ "0 will receive this" was green, as a count of recipients is."""
    response = manager_client.post(NEW, sms_form())
    page = manager_client.get(response.url).content.decode()
    assert '<span class="will-receive nobody">0 will receive this</span>' in page


def test_a_promotion_saved_informational_without_the_form_is_not_launched(
    manager_client, manager_user
):
    """Review D: the check lived in the form alone; a broadcast made otherwise (or before it)
    launched as informational."""
    b = Broadcast.objects.create(
        name="Spring", channel="sms", purpose="informational", body="20% off whitening!"
    )
    launch = reverse("broadcasts:launch", args=[b.pk])
    response = manager_client.get(launch, follow=True)
    assert response.redirect_chain[-1][0] == reverse("broadcasts:edit", args=[b.pk])
    assert "reads as marketing (“20% off”)" in response.content.decode()
    assert 'name="promotes_nothing"' in response.content.decode()  # the tick, shown
    manager_client.post(launch, {"confirmed": services.confirmation(b)})
    b.refresh_from_db()
    assert b.status == "draft"
    with pytest.raises(services.ReadsAsMarketing):
        services.launch(broadcast=b, by_user=manager_user)


def test_the_tick_is_asked_again_at_each_save_of_a_promotion(manager_client):
    """Review E: the tick given for "Free parking", shown checked on the edit page, covered
    the sale it was rewritten as. It is never pre-ticked: each save asks for it."""
    fields = sms_form(purpose="informational", body="Free parking during your visit.")
    manager_client.post(NEW, fields | {"promotes_nothing": "on"})
    b = Broadcast.objects.get()
    assert b.promotes_nothing and not b.reads_as_marketing()
    edit = reverse("broadcasts:edit", args=[b.pk])
    page = manager_client.get(edit).content.decode()
    assert '<input type="checkbox" name="promotes_nothing" id="id_promotes_nothing">' in page
    sale = "SALE: 50% off whitening, buy now, limited time"
    page = manager_client.post(edit, fields | {"body": sale}).content.decode()  # as shown
    assert "This reads as marketing (“SALE”)" in page
    b.refresh_from_db()
    assert b.body != sale and b.promotes_nothing
    manager_client.post(edit, fields | {"body": "Closed today."})
    b.refresh_from_db()
    assert not b.promotes_nothing  # said of words it no longer has


def test_a_promotion_made_marketing_needs_no_tick(manager_client):
    """Review E: a ticked informational promotion made Marketing, unticked, was refused with
    "Choose Marketing"."""
    fields = sms_form(purpose="informational", body="20% off whitening!")
    manager_client.post(NEW, fields | {"promotes_nothing": "on"})
    b = Broadcast.objects.get()
    manager_client.post(reverse("broadcasts:edit", args=[b.pk]), fields | {"purpose": "marketing"})
    b.refresh_from_db()
    assert (b.purpose, b.promotes_nothing) == ("marketing", False)


def test_a_scheduled_promotion_marked_informational_is_not_started_unasked(db):
    """Review E: one scheduled before the launch asked for the tick started at its time."""
    ContactFactory()
    b = Broadcast.objects.create(
        name="Spring", channel="sms", purpose="informational", body="20% off whitening!",
        status=Broadcast.Status.SCHEDULED, send_at=timezone.now() - timedelta(minutes=1),
    )  # fmt: skip
    assert not services.start_due(broadcast_id=b.pk)
    b.refresh_from_db()
    assert (b.status, b.launched_by) == ("draft", None)
    assert not b.recipients.exists()
