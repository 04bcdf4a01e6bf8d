import csv
import html
import io
import re
import sqlite3
from urllib.parse import quote

import pytest
from django.db import connection
from django.urls import reverse

from contacts import services
from contacts.models import (
    BulkJob,
    Channel,
    ConsentEvent,
    Contact,
    OptInStatus,
    Source,
    Tag,
)
from tests.factories import ContactFactory

URL = reverse("contacts:bulk")
BACK = reverse("contacts:list") + "?status=active"
SMS = Channel.SMS


@pytest.fixture
def mix(admin_role_user):
    """Three subscribed, two soft and one hard on SMS, one archived."""
    contacts = ContactFactory.create_batch(6)
    for contact in contacts[3:5]:
        services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    services.record_hard_opt_out(phone=contacts[5].phone, channel=SMS, source=Source.KEYWORD)
    ContactFactory(status=Contact.Status.ARCHIVED)
    return contacts


def statuses() -> dict[str, int]:
    result = {}
    for contact in Contact.objects.prefetch_related("opt_outs"):
        status = contact.opt_in_status(SMS)
        result[status] = result.get(status, 0) + 1
    return result


def test_unsubscribe_the_selected_contacts(admin_client, mix):
    chosen = [mix[0].pk, mix[1].pk, mix[3].pk]  # one already soft
    response = admin_client.post(
        URL, {"action": "unsubscribe_sms", "scope": "selected", "contacts": chosen, "next": BACK},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain[0][0] == BACK
    assert "SMS: 2 of 3 unsubscribed; 1 was already opted out." in response.content.decode()
    assert statuses() == {"subscribed": 2, "soft": 4, "hard": 1}
    events = ConsentEvent.objects.filter(contact_id__in=chosen, after="soft", actor__isnull=False)
    assert events.count() == 3  # mix[3]'s from the fixture, and two now


def test_resubscribe_everyone_matching_skips_hard_opt_outs_and_counts_them(admin_client, mix):
    data = {"action": "resubscribe_sms", "scope": "all", "query": "status=active", "next": BACK}
    confirm = admin_client.post(URL, data)
    assert "Resubscribe to SMS: all 6 contacts whose status is Active?" in confirm.content.decode()
    assert statuses()["soft"] == 2  # nothing yet
    response = admin_client.post(URL, data | {"confirmed": "on"}, follow=True)
    assert (
        "SMS: 2 of 6 resubscribed; 3 were already subscribed; 1 skipped: hard opt-out (only "
        "the contact can undo it)."
    ) in response.content.decode()
    assert statuses() == {"subscribed": 6, "hard": 1}
    assert ConsentEvent.objects.filter(before="soft", after="subscribed").count() == 2


def confirmation(client, data: dict) -> str:
    """The confirmation page's text, its tags taken out."""
    page = client.post(URL, {"scope": "all", "next": BACK} | data).content.decode()
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_confirmation_says_whom_in_words_with_thousands_separators(admin_client):
    leads = Tag.objects.create(name="Leads")
    ContactFactory.create_batch(1_001, name="Ann Smith")
    Contact.tags.through.objects.bulk_create(
        Contact.tags.through(contact=contact, tag=leads) for contact in Contact.objects.all()
    )
    ContactFactory(name="Bob Jones").tags.add(leads)
    text = confirmation(admin_client, {"action": "unsubscribe_sms", "query": f"tag={leads.pk}"})
    assert "Unsubscribe from SMS (soft): all 1,002 contacts tagged Leads?" in text
    assert "Yes, unsubscribe from SMS (soft)" in text
    assert "q=" not in text and "tag=" not in text  # no query string

    query = f"q=smith&sms=&calls=hard&status=active&tag={leads.pk}&sort=-name&per_page=25"
    text = confirmation(admin_client, {"action": "resubscribe_calls", "query": query})
    assert (
        "Resubscribe to Calls & Voicemails: all 0 contacts" not in text
        and "no contact matches the filters" in text
    )
    assert (
        "The table's filters (contacts tagged Leads, matching “smith”, opted out of Calls & "
        "Voicemails (hard) and whose status is Active) match no contact: there is nothing to "
        "do." in text
    )
    assert "Yes," not in text  # nothing to confirm

    query = f"q=smith&calls=subscribed&tag={leads.pk}"
    text = confirmation(admin_client, {"action": "resubscribe_calls", "query": query})
    assert (
        "Resubscribe to Calls & Voicemails: all 1,001 contacts tagged Leads, matching “smith” "
        "and subscribed to Calls & Voicemails?"
    ) in text
    assert "Yes, resubscribe to Calls & Voicemails" in text


def test_the_confirmation_of_a_resubscribe_says_hard_opt_outs_are_skipped(admin_client):
    ContactFactory()
    text = confirmation(admin_client, {"action": "resubscribe_sms", "query": ""})
    assert "A contact's hard opt-out is skipped: only the contact can undo it." in text


def test_the_confirmation_names_the_tag_and_says_every_contact_when_unfiltered(admin_client):
    vip = Tag.objects.create(name="VIP")
    ContactFactory()
    text = confirmation(admin_client, {"action": "add_tag", "tag": vip.pk, "query": ""})
    assert "Add the tag “VIP”: the 1 contact?" in text
    assert "Yes, add the tag “VIP”" in text
    ContactFactory()
    text = confirmation(admin_client, {"action": "remove_tag", "tag": vip.pk, "query": "sms="})
    assert "Remove the tag “VIP”: all 2 contacts?" in text


def test_the_confirmation_escapes_what_the_user_typed(admin_client):
    ContactFactory(name="<b>Ann</b>")
    page = admin_client.post(
        URL, {"action": "unsubscribe_sms", "scope": "all", "query": "q=<b>Ann"}
    ).content.decode()
    assert "matching “&lt;b&gt;Ann”" in page and "<b>Ann" not in page


def test_a_whole_filter_is_one_set_based_change(admin_client, django_assert_max_num_queries):
    ContactFactory.create_batch(120)
    data = {"action": "unsubscribe_sms", "scope": "all", "query": "", "confirmed": "on"}
    with django_assert_max_num_queries(12):
        admin_client.post(URL, data)
    assert statuses() == {"soft": 120}


def test_the_filters_decide_who_is_included(admin_client, mix):
    data = {"action": "unsubscribe_sms", "scope": "all", "query": "status=archived"}
    admin_client.post(URL, data | {"confirmed": "on"})
    archived = Contact.objects.get(status="archived")
    assert archived.opt_in_status(SMS) == OptInStatus.SOFT
    assert statuses()["subscribed"] == 3


def test_add_and_remove_a_tag(admin_client, mix):
    vip = Tag.objects.create(name="VIP")
    mix[0].tags.add(vip)
    chosen = [mix[0].pk, mix[1].pk]
    response = admin_client.post(
        URL, {"action": "add_tag", "tag": vip.pk, "scope": "selected", "contacts": chosen},
        follow=True,
    )  # fmt: skip
    assert "Tag “VIP”: added to 1 of 2 contacts; 1 already had it." in response.content.decode()
    assert set(vip.contacts.values_list("pk", flat=True)) == set(chosen)
    admin_client.post(
        URL, {"action": "remove_tag", "tag": vip.pk, "scope": "all", "confirmed": "on"}
    )
    assert not vip.contacts.exists()


def test_the_result_accounts_for_every_selected_contact(admin_client, admin_role_user):
    """30 selected: what became of each, not only of those that changed."""
    chosen = ContactFactory.create_batch(30)
    for contact in chosen[:2]:
        services.unsubscribe(contact=contact, channel=SMS, by_user=admin_role_user)
    services.record_hard_opt_out(phone=chosen[2].phone, channel=SMS, source=Source.KEYWORD)
    data = {"scope": "selected", "contacts": [contact.pk for contact in chosen], "next": BACK}

    response = admin_client.post(URL, data | {"action": "unsubscribe_sms"}, follow=True)
    assert "SMS: 27 of 30 unsubscribed; 3 were already opted out." in response.content.decode()

    services.resubscribe(contact=chosen[3], channel=SMS, by_user=admin_role_user)
    response = admin_client.post(URL, data | {"action": "resubscribe_sms"}, follow=True)
    assert (
        "SMS: 28 of 30 resubscribed; 1 was already subscribed; 1 skipped: hard opt-out (only "
        "the contact can undo it)."
    ) in response.content.decode()

    response = admin_client.post(URL, data | {"action": "unsubscribe_calls"}, follow=True)
    assert "Calls &amp; Voicemails: 30 unsubscribed." in response.content.decode()


def test_a_tag_result_says_who_had_it_with_thousands_separators(admin_client):
    leads = Tag.objects.create(name="Leads")
    ContactFactory.create_batch(1_200)
    ContactFactory().tags.add(leads)
    data = {"scope": "all", "query": "", "confirmed": "on", "tag": leads.pk, "next": BACK}
    response = admin_client.post(URL, data | {"action": "add_tag"}, follow=True)
    assert (
        "Tag “Leads”: added to 1,200 of 1,201 contacts; 1 already had it."
    ) in response.content.decode()
    Contact.tags.through.objects.filter(contact__in=Contact.objects.all()[:201]).delete()
    response = admin_client.post(URL, data | {"action": "remove_tag"}, follow=True)
    assert (
        "Tag “Leads”: removed from 1,000 of 1,201 contacts; 201 did not have it."
    ) in response.content.decode()
    assert not leads.contacts.exists()


def test_export_streams_the_filtered_view_and_neutralises_formulas(client, manager_user):
    ContactFactory(
        name='=HYPERLINK("http://evil")', phone="+14155550188", email="a@example.com",
        time_zone="America/Chicago", state="TX",
    )  # fmt: skip
    ContactFactory(name="Plain", status=Contact.Status.ARCHIVED)
    client.force_login(manager_user)
    response = client.post(URL, {"action": "export", "scope": "all", "query": "status=active"})
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "name", "phone", "email", "tags", "status", "sms", "calls", "time_zone", "state",
        "created_at",
    ]  # fmt: skip
    assert len(rows) == 2
    assert rows[1][:3] == ['\'=HYPERLINK("http://evil")', "+14155550188", "a@example.com"]
    assert rows[1][5:9] == ["subscribed", "subscribed", "America/Chicago", "TX"]


def test_staff_may_not_change(client, staff_user, mix):
    client.force_login(staff_user)
    data = {"action": "unsubscribe_sms", "scope": "selected", "contacts": [mix[0].pk]}
    assert client.post(URL, data).status_code == 403
    assert statuses()["subscribed"] == 4


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "unsubscribe_sms", "scope": "selected"}, "Select at least one contact"),
        (
            {"action": "add_tag", "scope": "all", "confirmed": "on"},
            "Choose the tag to add, in the Tag list beside the action.",
        ),
        (
            {"action": "remove_tag", "scope": "selected", "contacts": ["1"], "tag": ""},
            "Choose the tag to remove, in the Tag list beside the action.",
        ),
        ({"action": "launch_rockets", "scope": "all"}, "Select a valid choice"),
        (
            {"action": "unsubscribe_sms", "scope": "selected", "contacts": ["x"]},
            "is not a valid value",
        ),
        ({"action": "unsubscribe_sms", "scope": "all", "query": "sms=maybe"}, "not valid any more"),
        # Ids past the 64-bit range, which SQLite's driver refused with OverflowError.
        (
            {"action": "export", "scope": "selected", "contacts": ["99999999999999999999"]},
            "99999999999999999999 is not one of the available choices",
        ),
        (
            {"action": "unsubscribe_sms", "scope": "selected", "contacts": [str(-(2**64))]},
            "-18446744073709551616 is not one of the available choices",
        ),
        (
            {"action": "add_tag", "scope": "all", "confirmed": "on", "tag": str(2**64)},
            "That choice is not one of the available choices",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(admin_client, mix, data, error):
    response = admin_client.post(URL, data | {"next": BACK}, follow=True)
    assert response.redirect_chain[0][0] == BACK
    assert error in response.content.decode()
    assert statuses() == {"subscribed": 4, "soft": 2, "hard": 1}


@pytest.mark.parametrize("tag", ["", "999999", str(2**64), "VIP"])
def test_actions_but_the_tag_actions_ignore_the_tag_chooser(admin_client, mix, tag):
    """Without JavaScript the Tag chooser shows beside every action."""
    vip = Tag.objects.create(name="VIP")
    data = {"action": "unsubscribe_sms", "scope": "selected", "contacts": [mix[0].pk],
            "tag": vip.pk if tag == "VIP" else tag, "next": BACK}  # fmt: skip
    response = admin_client.post(URL, data, follow=True)
    assert "SMS: 1 unsubscribed." in response.content.decode()
    assert statuses() == {"subscribed": 3, "soft": 3, "hard": 1}
    assert not vip.contacts.exists()


def test_the_tag_chooser_is_for_the_tag_actions(admin_client, mix):
    page = admin_client.get(reverse("contacts:list")).content.decode()
    assert 'value="add_tag"' not in page and 'id="bulk-tag"' not in page  # no tags yet
    Tag.objects.create(name="VIP")
    page = admin_client.get(reverse("contacts:list")).content.decode()
    assert '<option value="add_tag" data-needs-tag>Add a tag</option>' in page
    assert '<option value="remove_tag" data-needs-tag>Remove a tag</option>' in page
    assert '<option value="unsubscribe_sms">' in page and '<option value="export">' in page
    assert '<select name="tag" id="bulk-tag" class="tag-choice">' in page


@pytest.fixture
def in_the_background(settings):
    """Bulk actions on more than three contacts run as a task (run at once here)."""
    settings.BULK_INLINE_LIMIT = 3
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def test_many_contacts_are_changed_by_a_task_whose_page_follows_it(
    admin_client, mix, in_the_background, django_capture_on_commit_callbacks
):
    data = {"action": "resubscribe_sms", "scope": "all", "query": "status=active", "next": BACK}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(URL, data | {"confirmed": "on"})
    job = BulkJob.objects.get()
    assert response.url == f"{reverse('contacts:bulk_job', args=[job.pk])}?next={quote(BACK)}"
    assert (job.action, job.query, job.count, job.status) == (
        "resubscribe_sms", "status=active", 6, "queued"
    )  # fmt: skip
    waiting = admin_client.get(response.url).content.decode()
    assert "Resubscribe to SMS: 6 contacts" in waiting
    assert "Waiting for a worker" in waiting and 'hx-trigger="every 1s"' in waiting
    assert statuses()["soft"] == 2  # nothing yet

    for callback in queued:  # the commit: the task runs
        callback()
    assert statuses() == {"subscribed": 6, "hard": 1}
    done = admin_client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert (
        "Done: SMS: 2 of 6 resubscribed; 3 were already subscribed; 1 skipped: hard opt-out "
        "(only the contact can undo it)."
    ) in done
    assert "hx-trigger" not in done  # it stops asking
    assert f'href="{BACK}"' in admin_client.get(response.url).content.decode()


def test_a_few_contacts_are_changed_while_the_page_waits(admin_client, mix, in_the_background):
    data = {"action": "unsubscribe_sms", "scope": "all", "query": "status=archived"}
    response = admin_client.post(URL, data | {"confirmed": "on"}, follow=True)
    assert "SMS: 1 unsubscribed." in response.content.decode()
    assert not BulkJob.objects.exists()


def test_a_job_whose_filters_went_stale_changes_nothing_and_says_why(
    admin_client, mix, in_the_background, django_capture_on_commit_callbacks
):
    vip = Tag.objects.create(name="VIP")
    mix[0].tags.add(vip)
    data = {"action": "add_tag", "tag": vip.pk, "scope": "all", "query": "", "confirmed": "on"}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        admin_client.post(URL, data)
    job = BulkJob.objects.get()
    BulkJob.objects.filter(pk=job.pk).update(query="tag=999999")  # e.g. the tag was deleted
    for callback in queued:
        callback()
    job.refresh_from_db()
    assert job.status == "failed"
    assert "Nothing was changed" in job.result and "filter the table again" in job.result
    assert list(Contact.objects.filter(tags=vip)) == [mix[0]]


def test_a_selection_with_an_id_past_64_bits_exports_nothing(admin_client, mix):
    data = {"action": "export", "scope": "selected", "contacts": [mix[0].pk, 2**64]}
    response = admin_client.post(URL, data | {"next": BACK}, follow=True)
    assert response.redirect_chain[0][0] == BACK
    assert f"{2**64} is not one of the available choices" in response.content.decode()


def test_filters_too_long_to_keep_with_a_job_are_an_error(admin_client, mix, in_the_background):
    query = "status=active&note=" + "x" * 2000  # what the table ignores, the job keeps
    data = {"action": "unsubscribe_sms", "scope": "all", "query": query, "confirmed": "on"}
    response = admin_client.post(URL, data | {"next": BACK}, follow=True)
    assert response.redirect_chain[0][0] == BACK
    assert "The filters are too long: filter the table again." in response.content.decode()
    assert not BulkJob.objects.exists()
    assert statuses() == {"subscribed": 4, "soft": 2, "hard": 1}


def test_a_job_goes_a_few_contacts_a_transaction_and_its_page_counts_them(
    admin_client, mix, in_the_background, settings, django_capture_on_commit_callbacks
):
    settings.BULK_BATCH_SIZE = 2
    data = {"action": "unsubscribe_sms", "scope": "all", "query": "", "confirmed": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(URL, data)
    job = BulkJob.objects.get()
    assert (job.status, job.done, job.total) == ("done", 7, 7)
    done = admin_client.get(response.url).content.decode()
    assert "Done: SMS: 4 of 7 unsubscribed; 3 were already opted out." in done
    assert statuses() == {"soft": 6, "hard": 1}


def test_each_transaction_of_a_job_takes_the_contacts_its_filters_match_then(
    admin_client, mix, in_the_background, settings, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """While a job tags the Leads two at a time, the last of them stops being a lead, and a
    contact who was not one becomes one: each transaction tags the leads of its moment."""
    settings.BULK_BATCH_SIZE = 2
    leads, vip = Tag.objects.create(name="Leads"), Tag.objects.create(name="VIP")
    for contact in mix[:5]:
        contact.tags.add(leads)
    tag_many, calls = services.tag_many, []

    def meanwhile(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            mix[4].tags.remove(leads)
            mix[5].tags.add(leads)
        return tag_many(**kwargs)

    monkeypatch.setattr(services, "tag_many", meanwhile)
    data = {"action": "add_tag", "tag": vip.pk, "scope": "all", "query": f"tag={leads.pk}",
            "confirmed": "on"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(URL, data)
    assert set(Contact.objects.filter(tags=vip)) == {*mix[:4], mix[5]}
    job = BulkJob.objects.get()
    assert (job.status, job.done, job.result) == ("done", 5, "Tag “VIP”: added to 5 contacts.")


@pytest.mark.sqlite
def test_a_batch_of_more_contacts_than_sqlite_takes_parameters_is_one_statement(
    admin_client, in_the_background, settings, django_capture_on_commit_callbacks
):
    """SQLite allows 32,766 parameters a statement (Debian's build more): a job's batches,
    `BULK_BATCH_SIZE` contacts, name their contacts in one. Here the limit is 20, and a batch
    holds 30 contacts, for each action."""
    settings.BULK_BATCH_SIZE = 50
    ContactFactory.create_batch(30)
    vip = Tag.objects.create(name="VIP")
    connection.ensure_connection()
    limit = connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)
    try:
        for action, said in [
            ("add_tag", "Tag “VIP”: added to 30 contacts."),
            ("unsubscribe_sms", "SMS: 30 unsubscribed."),
            ("unsubscribe_sms", "SMS: 0 of 30 unsubscribed; 30 were already opted out."),
            ("resubscribe_sms", "SMS: 30 resubscribed."),
            ("remove_tag", "Tag “VIP”: removed from 30 contacts."),
        ]:  # fmt: skip
            data = {"action": action, "scope": "all", "query": "", "confirmed": "on"}
            with django_capture_on_commit_callbacks(execute=True):
                admin_client.post(URL, data | {"tag": vip.pk} if "tag" in action else data)
            job = BulkJob.objects.latest("pk")
            assert (job.status, job.result) == ("done", said)
    finally:
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)


def test_a_running_job_shows_how_far_it_got(admin_client, admin_role_user):
    job = BulkJob.objects.create(action="unsubscribe_sms", by_user=admin_role_user, count=20_000,
                                 status="running", total=20_100, done=5_000,
                                 result="SMS: 4990 unsubscribed.")  # fmt: skip
    page = admin_client.get(reverse("contacts:bulk_job", args=[job.pk])).content.decode()
    assert "Running</strong>: 5,000 of 20,100 contacts" in page
    assert '<progress max="20100" value="5000">' in page
    assert "So far: SMS: 4990 unsubscribed." in page and 'hx-trigger="every 1s"' in page


def test_a_job_that_fails_midway_says_what_it_changed_before(
    admin_client, mix, in_the_background, settings, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.BULK_BATCH_SIZE = 2
    unsubscribe_many, calls = services.unsubscribe_many, []

    def failing_the_third_time(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return unsubscribe_many(**kwargs)

    monkeypatch.setattr(services, "unsubscribe_many", failing_the_third_time)
    data = {"action": "unsubscribe_sms", "scope": "all", "query": "", "confirmed": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(URL, data)
    job = BulkJob.objects.get()
    # The first two transactions (four contacts, three of them subscribed) stay changed; the
    # third is rolled back, and the last contact, the archived one, was never reached.
    assert statuses() == {"subscribed": 1, "soft": 5, "hard": 1}
    assert Contact.objects.get(status="archived").opt_in_status(SMS) == "subscribed"
    page = admin_client.get(response.url).content.decode()
    assert job.status == "failed"
    assert (
        "The action failed after 4 of 7 contacts. Changed before it failed: SMS: 3 of 4 "
        "unsubscribed; 1 was already opted out. The other contacts were not changed."
    ) in page


def test_no_action_is_chosen_for_the_user(admin_client, mix):
    """A new user ticked rows meaning to do something else, pressed Apply, and got "SMS: 1
    unsubscribed": the first action was chosen for them. Now nothing is, and nothing changes."""
    page = admin_client.get(reverse("contacts:list")).content.decode()
    assert '<option value="">Choose an action…</option>' in page
    response = admin_client.post(
        URL, {"scope": "selected", "contacts": [mix[0].pk], "next": BACK}, follow=True
    )
    assert "Choose an action in the Action list." in response.content.decode()
    assert Contact.objects.get(pk=mix[0].pk).opt_in_status(SMS) == OptInStatus.SUBSCRIBED
