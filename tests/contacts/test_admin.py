"""The Django admin shows Opt-In Status and cannot reverse a hard opt-out."""

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import services
from contacts.models import Channel, Contact, OptInStatus, OptOut, Source, Tag
from tests.factories import ContactFactory

SMS = Channel.SMS


@pytest.fixture
def hard_and_soft(admin_role_user):
    hard = ContactFactory(name="Hana Hard")
    services.record_hard_opt_out(phone=hard.phone, channel=SMS, source=Source.KEYWORD)
    soft = ContactFactory(name="Sam Soft")
    services.unsubscribe(contact=soft, channel=SMS, by_user=admin_role_user)
    return hard, soft


@pytest.fixture
def admin_client(client, admin_role_user):
    admin_role_user.is_staff = True
    admin_role_user.save()
    client.force_login(admin_role_user)
    return client


def change_form(contact: Contact, **fields) -> dict:
    """What the admin's change form posts, the read-only inlines' management forms included."""
    data = {"name": contact.name, "phone": contact.phone, "email": "", "status": "active",
            "created_at_0": "2026-11-01", "created_at_1": "10:00:00"}  # fmt: skip
    for prefix, rows in (
        ("opt_outs", contact.opt_outs),
        ("consent_events", contact.consent_events),
    ):
        count = str(rows.count())
        data |= {f"{prefix}-TOTAL_FORMS": count, f"{prefix}-INITIAL_FORMS": count}
        data |= {f"{prefix}-{i}-id": row.pk for i, row in enumerate(rows.order_by("-id"))}
    return data | fields


def sms(contact: Contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(SMS)


def test_the_changelist_shows_both_icons_with_names_and_tooltips(admin_client, hard_and_soft):
    page = admin_client.get(reverse("admin:contacts_contact_changelist")).content.decode()
    assert 'aria-label="SMS: opted out (hard)"' in page
    assert 'aria-label="SMS: opted out (soft)"' in page
    assert 'aria-label="Calls &amp; Voicemails: subscribed"' in page
    assert "Opted out of SMS: replied “STOP” on" in page
    assert "Opted out of SMS: by admintest on" in page


def test_the_changelist_filters_by_channel_status(admin_client, hard_and_soft):
    url = reverse("admin:contacts_contact_changelist")
    page = admin_client.get(url, {"sms": "hard"}).content.decode()
    assert "Hana Hard" in page and "Sam Soft" not in page
    page = admin_client.get(url, {"sms": "subscribed"}).content.decode()
    assert "Hana Hard" not in page and "Sam Soft" not in page


def test_no_admin_action_changes_a_subscription(admin_client, hard_and_soft):
    hard, soft = hard_and_soft
    response = admin_client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "resubscribe_sms", "_selected_action": [hard.pk, soft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert (sms(hard), sms(soft)) == (OptInStatus.HARD, OptInStatus.SOFT)


# The admin's add form, filled in as an operator would (its inlines empty).
NOOR = {"name": "Noor", "phone": "+1 (415) 555-0123", "email": "", "status": "active",
        "created_at_0": "2026-11-01", "created_at_1": "10:00:00",
        "opt_outs-TOTAL_FORMS": "0", "opt_outs-INITIAL_FORMS": "0",
        "consent_events-TOTAL_FORMS": "0", "consent_events-INITIAL_FORMS": "0"}  # fmt: skip


def test_the_add_form_takes_a_phone_as_people_write_it(admin_client, db):
    response = admin_client.post(reverse("admin:contacts_contact_add"), NOOR)
    assert response.status_code == 302, response.content.decode()
    assert Contact.objects.get(name="Noor").phone == "+14155550123"


def test_the_change_page_shows_the_ledger_read_only(admin_client, hard_and_soft):
    hard, _ = hard_and_soft
    page = admin_client.get(reverse("admin:contacts_contact_change", args=[hard.pk]))
    assert "consent ledger" in page.content.decode().lower()
    assert 'name="consent_events-0-note"' not in page.content.decode()


def test_a_tampered_change_form_leaves_the_opt_out_alone(admin_client, hard_and_soft):
    hard, _ = hard_and_soft
    tampered = change_form(
        hard, name="Hana H.", **{"opt_outs-0-kind": "soft", "opt_outs-0-DELETE": "on"}
    )
    response = admin_client.post(reverse("admin:contacts_contact_change", args=[hard.pk]), tampered)
    assert response.status_code == 302
    assert Contact.objects.get(pk=hard.pk).name == "Hana H."  # the form was saved
    assert sms(hard) == OptInStatus.HARD
    assert OptOut.objects.get(contact=hard).kind == OptOut.HARD


def test_changing_the_phone_in_the_admin_normalises_it_and_keeps_the_opt_out(
    admin_client, hard_and_soft
):
    hard, _ = hard_and_soft
    response = admin_client.post(
        reverse("admin:contacts_contact_change", args=[hard.pk]),
        change_form(hard, phone="(415) 555-0999"),
    )
    assert response.status_code == 302, response.content.decode()
    contact = Contact.objects.get(pk=hard.pk)
    assert contact.phone == "+14155550999"
    assert sms(contact) == OptInStatus.HARD


def test_the_admin_refuses_an_invalid_phone_naming_it(admin_client, hard_and_soft):
    hard, _ = hard_and_soft
    response = admin_client.post(
        reverse("admin:contacts_contact_change", args=[hard.pk]), change_form(hard, phone="12ab")
    )
    assert "“12ab” is not a valid phone number." in response.content.decode()
    assert Contact.objects.get(pk=hard.pk).phone == hard.phone


def test_deleting_a_contact_or_a_tag_takes_its_tag_links_with_it(client, admin_user):
    """Tag links are not foreign-key constraints (migration 0018): each delete removes them."""
    client.force_login(admin_user)
    vip, fair = Tag.objects.create(name="VIP"), Tag.objects.create(name="Fair")
    kept, gone = ContactFactory(), ContactFactory()
    for contact in (kept, gone):
        contact.tags.add(vip, fair)
    client.post(reverse("admin:contacts_contact_delete", args=[gone.pk]), {"post": "yes"})
    client.post(reverse("admin:contacts_tag_delete", args=[fair.pk]), {"post": "yes"})
    assert list(Contact.objects.values_list("pk", flat=True)) == [kept.pk]
    links = Contact.tags.through.objects.values_list("contact_id", "tag_id")
    assert list(links) == [(kept.pk, vip.pk)]


def test_a_long_history_shows_its_latest_entries_with_their_actors_in_few_statements(
    admin_client, admin_role_user
):
    """The change page of a contact with 2,000 ledger entries: the latest of them, their
    actors read with them, and a link to all of them, in as many statements as a new one's
    (once the process has read what it keeps, the content types)."""
    contact = ContactFactory()
    for _ in range(1000):
        services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
        services.resubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    assert contact.consent_events.count() == 2000
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    newcomer = ContactFactory()
    admin_client.get(url)
    reset_queries()  # the log keeps 9,000 statements, which the history's making filled
    with CaptureQueriesContext(connection) as long_history:
        page = admin_client.get(url).content.decode()
    assert page.count('class="form-row has_original') == 20 + contact.opt_outs.count()
    assert "The latest 20 entries." in page
    ledger = reverse("admin:contacts_consentevent_changelist") + f"?contact_id={contact.pk}"
    assert f'href="{ledger}"' in page
    listed = admin_client.get(ledger).content.decode()
    assert "2000 results" in listed
    with CaptureQueriesContext(connection) as new:
        admin_client.get(reverse("admin:contacts_contact_change", args=[newcomer.pk]))
    assert (
        "The latest"
        not in admin_client.get(
            reverse("admin:contacts_contact_change", args=[newcomer.pk])
        ).content.decode()
    )
    assert len(long_history) <= 8, "\n".join(q["sql"][:60] for q in long_history)
    assert len(long_history) == len(new)


def test_the_changelist_reads_the_rows_opt_outs_at_once(admin_client, admin_role_user):
    url = reverse("admin:contacts_contact_changelist")
    admin_client.get(url)

    def statements_with(opted_out: int) -> int:
        for contact in ContactFactory.create_batch(opted_out):
            services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
        with CaptureQueriesContext(connection) as page:
            assert admin_client.get(url).status_code == 200
        return len(page)

    assert statements_with(2) == statements_with(20)


def test_the_add_form_warns_of_the_numbers_hard_opt_out_as_the_contact_pages_do(admin_client, db):
    services.record_hard_opt_out(phone="+14155550123", channel=SMS, source=Source.KEYWORD)
    response = admin_client.post(reverse("admin:contacts_contact_add"), NOOR, follow=True)
    page = response.content.decode()
    assert "Noor will not receive SMS while it has this number." in page
    assert sms(Contact.objects.get(name="Noor")) == OptInStatus.HARD


def test_the_admin_deletes_chosen_contacts_up_to_a_limit_and_asks_first(
    admin_client, settings, monkeypatch
):
    """A cold review at a million contacts: the page that asks first listed each of 100,000
    chosen contacts with its tags and opt-outs, 23 s and 720 MB (past gunicorn's 30 s for
    more). Past DELETED_AT_MOST it deletes nothing, and says so; within it, it asks first."""
    monkeypatch.setattr("contacts.admin.DELETED_AT_MOST", 2)
    chosen = [ContactFactory().pk for _ in range(3)]
    url = reverse("admin:contacts_contact_changelist")
    action = {"action": "delete_selected", "_selected_action": chosen}
    page = admin_client.post(url, action, follow=True).content.decode()
    assert "3 contacts chosen: delete at most 2 at a time here. Nothing was deleted." in page
    assert Contact.objects.count() == 3
    page = admin_client.post(url, action | {"_selected_action": chosen[:2]}).content.decode()
    assert "Are you sure you want to delete the selected contacts?" in page
    admin_client.post(url, action | {"_selected_action": chosen[:2], "post": "yes"})
    assert list(Contact.objects.values_list("pk", flat=True)) == chosen[2:]


def test_the_changelist_offers_no_counts_of_its_filters(admin_client, hard_and_soft):
    """Its "Show counts" counted each channel filter by a sub-query for every contact: at a
    million contacts, past any time-out (a cold review)."""
    page = admin_client.get(reverse("admin:contacts_contact_changelist")).content.decode()
    assert "Show counts" not in page and "_facets" not in page


def test_a_tag_s_delete_page_counts_its_contacts_rather_than_listing_them(client, admin_user):
    """A cold review at a million contacts: the page listed each contact's link to the tag,
    6 s and 13 MB for a tag of 200,000."""
    client.force_login(admin_user)
    fair = Tag.objects.create(name="Fair")
    for _ in range(3):
        ContactFactory().tags.add(fair)
    page = client.get(reverse("admin:contacts_tag_delete", args=[fair.pk])).content.decode()
    assert "Tag: Fair (taken from 3 contacts, who are kept)" in page
    assert "Contact-tag relationship" not in page
    client.post(reverse("admin:contacts_tag_delete", args=[fair.pk]), {"post": "yes"})
    assert not Tag.objects.exists() and Contact.objects.count() == 3
    assert not Contact.tags.through.objects.exists()
