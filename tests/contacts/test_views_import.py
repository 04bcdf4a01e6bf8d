import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts import imports, services
from contacts.models import Channel, Contact, ContactImport, Source
from contacts.phones import normalize_phone
from crm.roles import ADMIN
from tests.factories import ContactFactory, UserFactory

URL = reverse("contacts:import")


def apply_url(contact_import: ContactImport) -> str:
    return reverse("contacts:import_apply", args=[contact_import.pk])


def upload(client, content: bytes, name: str = "people.csv"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content, "text/csv")}, follow=True)


def test_an_admin_checks_then_applies_a_file(admin_client):
    response = upload(admin_client, b"name,phone,sms\nAna,(415) 555-0101,soft\n")
    assert "people.csv: 1 row ready" in response.content.decode()
    assert not Contact.objects.exists()  # nothing before the apply
    contact_import = ContactImport.objects.get()
    response = admin_client.post(apply_url(contact_import), follow=True)
    assert "Imported people.csv: 1 created, 0 updated, 1 opt-out recorded" in (
        response.content.decode()
    )
    assert Contact.objects.get().opt_in_status("sms") == "soft"


def test_the_preview_lists_each_problem_and_offers_no_apply(admin_client):
    response = upload(admin_client, b"name,phone\nAna,555\n,+14155550101\n")
    page = response.content.decode()
    assert "2 problems" in page
    assert "<td>2</td><td>phone</td><td>“555” is not a valid phone number.</td>" in page
    assert "<td>3</td><td>name</td><td>A name is required.</td>" in page
    contact_import = ContactImport.objects.get()
    assert apply_url(contact_import) not in page
    response = admin_client.post(apply_url(contact_import), follow=True)
    assert "The file has problems" in response.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", "is not a CSV file"),
        (b"name,phone\nJos\x81,+14155550101\n", "people.csv", "not UTF-8 text, nor Windows-1252"),
    ],
)
def test_a_wrong_file_gets_a_clear_error(admin_client, content, name, message):
    response = upload(admin_client, content, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Contact.objects.exists()


def test_a_file_over_the_limit_is_refused_with_its_real_size(admin_client, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 1024 * 1024)
    response = upload(admin_client, b"name,phone\n" + b"Ann,+14155550101\n" * 200_000)
    assert "The file is 3.2 MB; the most is 1 MB" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_apply_imports_the_file_of_the_page_it_was_pressed_on(admin_client):
    """Two tabs: file A checked, then file B; Apply on A's page imports A, and B stays
    waiting for its own Apply."""
    upload(admin_client, b"name,phone\nAna,+14155550101\n", name="a.csv")
    upload(admin_client, b"name,phone\nBen,+14155550102\n", name="b.csv")
    a = ContactImport.objects.get(file_name="a.csv")
    response = admin_client.post(apply_url(a), follow=True)
    assert "Imported a.csv: 1 created" in response.content.decode()
    assert list(Contact.objects.values_list("name", flat=True)) == ["Ana"]
    b = ContactImport.objects.get(file_name="b.csv")
    assert b.status == "ready"


def test_pressing_apply_twice_imports_once(admin_client):
    upload(admin_client, b"name,phone\nAna,+14155550101\n")
    contact_import = ContactImport.objects.get()
    admin_client.post(apply_url(contact_import))
    response = admin_client.post(apply_url(contact_import), follow=True)
    assert "This file was imported already." in response.content.decode()
    assert Contact.objects.count() == 1


def test_another_users_import_is_not_found(admin_client, db):
    upload(admin_client, b"name,phone\nAna,+14155550101\n")
    contact_import = ContactImport.objects.get()
    other = Client()
    other.force_login(UserFactory(username="other-admin", role=ADMIN))
    assert other.get(contact_import.get_absolute_url()).status_code == 404
    assert other.post(apply_url(contact_import)).status_code == 404
    assert not Contact.objects.exists()


def test_a_large_file_is_checked_and_applied_by_the_worker(admin_client, settings):
    """Above the sizes done while the page waits, the page follows a task (run here by the
    immediate backend as it is queued)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.BULK_INLINE_LIMIT = 2
    rows = "".join(f"P{i},+1415{i}\n" for i in range(2_000_000, 2_070_000))
    response = upload(admin_client, ("name,phone\n" + rows).encode())
    assert "people.csv: 70,000 rows ready" in response.content.decode()
    contact_import = ContactImport.objects.get()
    assert contact_import.size > imports.INLINE_BYTES
    response = admin_client.post(apply_url(contact_import), follow=True)
    assert "Imported people.csv: 70,000 created" in response.content.decode()
    assert Contact.objects.count() == 70_000


def test_the_import_page_follows_the_work_while_it_goes_on(admin_client):
    upload(admin_client, b"name,phone\nAna,+14155550101\n")
    contact_import = ContactImport.objects.get()
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status="applying", rows_ready=10, rows_applied=5
    )
    page = admin_client.get(contact_import.get_absolute_url()).content.decode()
    assert "5 of 10 rows" in page and 'hx-trigger="every 1s"' in page
    ContactImport.objects.filter(pk=contact_import.pk).update(status="done")
    partial = admin_client.get(contact_import.get_absolute_url(), headers={"HX-Request": "true"})
    assert "Imported people.csv" in partial.content.decode()
    assert "every 1s" not in partial.content.decode()


@pytest.mark.parametrize("role", ["Staff", "Manager"])
def test_only_admins_may_import(client, db, role):
    client.force_login(UserFactory(role=role))
    assert client.get(URL).status_code == 403
    assert upload(client, b"name,phone\nAna,+14155550101\n").status_code == 403
    assert client.post(reverse("contacts:import_apply", args=[1])).status_code == 403
    assert client.get(reverse("contacts:import_columns", args=[1])).status_code == 403


ROW = st.tuples(
    st.sampled_from(["Ana", "Ben Brown", "", "=cmd()", "Zoë <b>"]),
    st.sampled_from(["(415) 555-0101", "+1 415 555 0102", "555", "", "+44 20 7946 0958"]),
    st.sampled_from(["", "soft", "hard", "maybe", "SOFT"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, max_size=6))
def test_an_import_applies_every_row_or_none(admin_client, rows):
    """Whatever the rows, the upload answers with its check, and applying it imports all of
    them or, when any has a problem, none: never a part."""
    Contact.objects.all().delete()
    ContactImport.objects.all().delete()
    body = "name,phone,sms\n" + "".join(f'"{n}","{p}","{s}"\n' for n, p, s in rows)
    response = upload(admin_client, body.encode())
    assert response.status_code == 200
    contact_import = ContactImport.objects.first()
    if contact_import is None or contact_import.status == "unreadable":  # e.g. no rows
        assert "no contacts" in response.content.decode()
        assert Contact.objects.count() == 0
        return
    applied = admin_client.post(apply_url(contact_import), follow=True)
    assert applied.status_code == 200
    contact_import.refresh_from_db()
    if contact_import.status == "done":
        people = {
            (name.lower(), normalize_phone(phone))
            for name, phone, sms in rows
            if name or phone or sms  # a blank line is no row
        }
        assert Contact.objects.count() == len(people)
    else:
        assert contact_import.status == "problems"
        assert "problem" in response.content.decode()
        assert Contact.objects.count() == 0


def columns_url(contact_import: ContactImport) -> str:
    return reverse("contacts:import_columns", args=[contact_import.pk])


ODD = b"Who,Number,Notes\nAna Alvarez,(415) 555-0101,met at the fair\n"


def test_a_file_with_odd_headers_asks_for_its_columns_and_imports_them(admin_client):
    response = upload(admin_client, ODD)
    contact_import = ContactImport.objects.get()
    assert response.redirect_chain[-1][0] == columns_url(contact_import)
    page = response.content.decode()
    assert "people.csv: match the columns" in page
    assert "Ana Alvarez" in page and "(415) 555-0101" in page and "met at the fair" in page
    assert not Contact.objects.exists()
    response = admin_client.post(
        columns_url(contact_import),
        {"column_0": "name", "column_1": "phone", "column_2": ""},
        follow=True,
    )
    page = response.content.decode()
    assert "people.csv: 1 row ready" in page
    assert "Ignored columns: notes." in page
    response = admin_client.post(apply_url(contact_import), follow=True)
    assert "Imported people.csv: 1 created" in response.content.decode()
    assert Contact.objects.get().phone == "+14155550101"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"column_0": "name", "column_2": "email"}, "Choose the column that holds the phone"),
        (
            {"column_0": "name", "column_1": "phone", "column_2": "phone"},
            "Each field can be chosen for one column only: Phone.",
        ),
        ({"column_0": "nickname", "column_1": "phone"}, "Select a valid choice"),
    ],
)
def test_a_wrong_match_of_columns_is_shown_and_changes_nothing(admin_client, columns, message):
    upload(admin_client, ODD)
    contact_import = ContactImport.objects.get()
    response = admin_client.post(columns_url(contact_import), columns)
    assert response.status_code == 200
    assert message in response.content.decode()
    contact_import.refresh_from_db()
    assert (contact_import.status, contact_import.column_fields) == ("matching", [])
    assert not Contact.objects.exists()


def test_the_columns_page_guesses_the_headers_it_knows(admin_client):
    upload(admin_client, b"Name,Phone,Mobile,E-mail\nAna,+14155550101,+14155550102,a@b.co\n")
    page = admin_client.get(columns_url(ContactImport.objects.get())).content.decode()
    assert '<option value="name" selected>Name</option>' in page
    assert '<option value="email" selected>Email</option>' in page
    assert '<option value="phone" selected>' not in page  # two candidates: the user chooses


def test_columns_are_matched_once_and_the_page_then_shows_the_check(admin_client):
    """Two tabs on the same file: the second match finds it matched already."""
    upload(admin_client, ODD)
    contact_import = ContactImport.objects.get()
    admin_client.post(columns_url(contact_import), {"column_0": "name", "column_1": "phone"})
    response = admin_client.post(
        columns_url(contact_import), {"column_0": "phone", "column_1": "name"}, follow=True
    )
    assert "people.csv: 1 row ready" in response.content.decode()
    contact_import.refresh_from_db()
    assert contact_import.column_fields == ["name", "phone", ""]


def test_another_users_columns_are_not_found(admin_client, db):
    upload(admin_client, ODD)
    other = Client()
    other.force_login(UserFactory(username="other-admin", role=ADMIN))
    assert other.get(columns_url(ContactImport.objects.get())).status_code == 404


@pytest.mark.parametrize(
    "header",
    [b"Full Name,Phone Number", b"Contact Name,Mobile", b"Name,Cell", b"name,Telephone"],
)
def test_a_file_with_known_headers_goes_straight_to_its_check(admin_client, header):
    response = upload(admin_client, header + b"\nAna,+14155550101\n")
    assert "people.csv: 1 row ready" in response.content.decode()


def test_the_preview_shows_creates_updates_and_hard_opt_outs_before_apply(admin_client):
    ana = ContactFactory(name="Ana", phone="+14155550101")
    services.record_hard_opt_out(phone=ana.phone, channel="sms", source=Source.KEYWORD)
    response = upload(
        admin_client, b"name,phone,sms\nAna,+14155550101,subscribed\nBen,+14155550102,\n"
    )
    page = response.content.decode()
    assert "1 new contact to create, 1 contact to update." in page
    assert "1 opt-in value will not be applied" in page
    assert (
        "hard opt-out of the channel, or another row of the file gives it one: only the "
        "contact can undo it." in page
    )
    assert (
        '<tr><td>2</td><td>Ana</td><td class="nowrap">(415) 555-0101</td><td>sms</td></tr>' in page
    )
    assert "<tr><td>2</td><td>updates</td><td>Ana</td>" in page
    assert "<tr><td>3</td><td>creates</td><td>Ben</td>" in page
    # The row's own value, marked where it stands in the first rows.
    assert page.count("not applied: hard opt-out kept") == 1
    assert '<td>subscribed <strong class="kept-hard">not applied: hard opt-out kept' in page
    response = admin_client.post(apply_url(ContactImport.objects.get()), follow=True)
    page = response.content.decode()
    assert "1 created, 1 updated" in page
    assert Contact.objects.get(pk=ana.pk).opt_in_status("sms") == "hard"
    # The result names each row whose hard opt-out was kept, as the preview did.
    assert "would have lifted a hard opt-out (only the contact can undo it)" in page
    assert (
        '<tr><td>2</td><td>Ana</td><td class="nowrap">(415) 555-0101</td><td>sms</td></tr>' in page
    )


def test_the_preview_warns_of_a_number_held_back_that_the_file_releases(admin_client):
    ContactFactory(name="Aisha Williams", phone="+15122000000", status="do_not_contact")
    page = upload(admin_client, b"name,phone\nA. Williams,(512) 200-0000\n").content.decode()
    assert (
        "1 row will let broadcasts reach a number that a contact marked “Do not contact” or "
        "“Archived” holds back now. Check it before you import." in page
    )
    assert (
        '<tr><td>2</td><td>A. Williams</td><td class="nowrap">(512) 200-0000</td>'
        "<td>A new contact with the number of Aisha Williams (Do not contact)</td></tr>" in page
    )
    ContactFactory(name="Ben", phone="+15122000001")
    page = upload(admin_client, b"name,phone\nBen,(512) 200-0001\n").content.decode()
    assert "will let broadcasts reach" not in page


def test_the_preview_warns_that_subscribed_without_consent_gets_no_marketing(admin_client):
    """Another system's "SMS Opt-In: Yes" subscribes; with no consent on record, marketing
    broadcasts leave the number out, and the preview says so before the import."""
    ContactFactory(name="Cleo", phone="+14155550103")
    services.record_consent(
        phone="+14155550103", channel="sms", method="verbal", given_at=timezone.now(),
        by_user=None,
    )  # fmt: skip
    ContactFactory(name="Eve", phone="+14155550105")  # updated, its values unchanged
    services.record_hard_opt_out(phone="+14155550106", channel="calls", source=Source.KEYWORD)
    content = (
        "name,phone,sms,calls,consent,consent method,consent date\n"
        "Ana,+14155550101,Yes,yes,,,\n"  # neither on record
        "Ben,+14155550102,yes,,sms,web form,2025-03-01\n"  # given in the row; calls by default
        "Cleo,+14155550103,subscribed,,,,\n"  # on record for the number; a contact already
        "Dev,+14155550104,,soft,,,\n"  # a new contact: SMS by default
        "Eve,+14155550105,,,,,\n"  # nothing changes
        "Fay,+14155550106,,,,,\n"  # a new contact: SMS; calls opted out by the number
    )
    page = upload(admin_client, content.encode()).content.decode()
    assert page.count('class="errornote import-no-consent"') == 2
    assert (
        "3 rows subscribe their numbers to SMS (a cell that says so, or an empty one for a new "
        "contact) with no consent to it on record, nor in the row: marketing broadcasts leave "
        "them out (“No consent on record”) until consent is recorded." in page
    )
    assert "2 rows subscribe their numbers to Calls &amp; Voicemails (a cell" in page
    settings_off = {"MARKETING_NEEDS_CONSENT": False}
    with override_settings(**settings_off):
        page = upload(admin_client, content.encode()).content.decode()
    assert "import-no-consent" not in page


def test_time_zone_and_state_columns_are_offered_and_imported(admin_client):
    upload(admin_client, b"Who,Number,Where,Zone\nAna,(415) 555-0101,Texas,America/Chicago\n")
    contact_import = ContactImport.objects.get()
    page = admin_client.get(columns_url(contact_import)).content.decode()
    assert '<option value="time_zone">Time zone</option>' in page
    assert '<option value="state">State</option>' in page
    columns = {"column_0": "name", "column_1": "phone", "column_2": "state",
               "column_3": "time_zone"}  # fmt: skip
    response = admin_client.post(columns_url(contact_import), columns, follow=True)
    assert "people.csv: 1 row ready" in response.content.decode()
    admin_client.post(apply_url(contact_import))
    assert Contact.objects.values_list("time_zone", "state").get() == ("America/Chicago", "TX")


@pytest.mark.parametrize(
    "content",
    [
        "name;phone;tags;sms\nAna Álvarez;(415) 555-0101;VIP, Spring;soft\n",  # Excel in Europe
        "name\tphone\ttags\tsms\nAna Álvarez\t(415) 555-0101\tVIP, Spring\tsoft\n",
    ],
    ids=["semicolons", "tabs"],
)
def test_a_file_separated_by_semicolons_or_tabs_is_read_as_such(admin_client, content):
    response = upload(admin_client, content.encode())
    assert "people.csv: 1 row ready" in response.content.decode()
    admin_client.post(apply_url(ContactImport.objects.get()), follow=True)
    contact = Contact.objects.get()
    assert (contact.name, contact.phone) == ("Ana Álvarez", "+14155550101")
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Spring", "VIP"]
    assert contact.opt_in_status("sms") == "soft"


def test_columns_of_a_semicolon_file_are_matched_from_its_own_header(admin_client):
    response = upload(admin_client, b"Kunde;Telefon;Notiz\nAna;(415) 555-0101;a, b\n")
    page = response.content.decode()
    assert "people.csv: match the columns" in page
    assert "Kunde" in page and "Telefon" in page and "a, b" in page
    contact_import = ContactImport.objects.get()
    response = admin_client.post(
        columns_url(contact_import),
        {"column_0": "name", "column_1": "phone", "column_2": ""},
        follow=True,
    )
    assert "people.csv: 1 row ready" in response.content.decode()


def test_another_system_s_voice_opt_in_column_is_read_as_calls(admin_client):
    """A new user's file: "Voice Opt-In" was ignored, and its "No" imported as subscribed to
    calls."""
    upload(admin_client, b"Name,Mobile Phone,SMS Opt-In,Voice Opt-In\nBob,(415) 555-0101,Yes,No\n")
    page = admin_client.get(ContactImport.objects.get().get_absolute_url()).content.decode()
    assert "1 problem" in page and "Ignored columns" not in page
    assert "“No”: write hard where the contact opted out themselves" in page


@pytest.mark.parametrize(
    "header", ["Voice Permission", "DNC", "Text OK?", "Marketing consent", "Don't Call", "Unsub"]
)
def test_a_column_that_may_say_who_agreed_is_not_ignored_unasked(admin_client, header):
    content = f"Name,Phone,{header}\nBob,(415) 555-0101,N\n".encode()
    response = upload(admin_client, content)
    contact_import = ContactImport.objects.get()
    assert response.redirect_chain[-1][0] == columns_url(contact_import)
    page = response.content.decode()
    assert (
        "These columns may say whether a contact may be texted or called, and the app does not "
        f"know their headers:\n<strong>{header}</strong>"
    ) in page.replace("&#x27;", "'")
    # Matched as the calls column: its "N" is a question, not a subscription.
    response = admin_client.post(
        columns_url(contact_import),
        {"column_0": "name", "column_1": "phone", "column_2": "calls"},
        follow=True,
    )
    assert "“N”: write hard where the contact opted out themselves" in response.content.decode()
    assert not Contact.objects.exists()


def test_an_ordinary_dental_export_still_imports_by_the_command(db, tmp_path):
    """ "Recall Date" (a dental office's next check-up) and "No Call No Show" (appointments
    missed) say nothing of consent: the file is imported, the columns ignored (a first form of
    unsure_columns found "call" in the one, a second "no call" in the other, and refused the
    file)."""
    path = tmp_path / "patients.csv"
    path.write_text(
        "Name,Phone,Recall Date,No Call No Show\nAna Ruiz,(415) 555-0101,2026-03-01,2\n"
    )
    try:
        call_command("import_contacts", str(path))
    except CommandError as error:
        pytest.fail(f"refused: {error}")
    assert Contact.objects.filter(phone="+14155550101").exists()


def test_a_do_not_call_column_is_ignored_only_when_its_uploader_says_so(admin_client):
    """A new user's file: "DNC" was flagged but ignored by default, and read as the calls
    column its "Y" made those on the list subscribed. Left unchosen, it is asked again."""
    upload(admin_client, b"Name,Phone,DNC\nBob,(415) 555-0101,Y\n")
    contact_import = ContactImport.objects.get()
    page = admin_client.post(
        columns_url(contact_import), {"column_0": "name", "column_1": "phone", "column_2": ""}
    ).content.decode()
    assert "Choose what this column holds, or Ignore." in page
    contact_import.refresh_from_db()
    assert contact_import.status == "matching" and not contact_import.importrow_set.exists()
    response = admin_client.post(
        columns_url(contact_import),
        {"column_0": "name", "column_1": "phone", "column_2": "ignore"},
        follow=True,
    )
    assert "Ignored columns: dnc." in response.content.decode()


def test_a_list_of_opt_outs_reads_yes_as_the_contact_s_own_opt_out(admin_client):
    upload(
        admin_client,
        b"Name,Phone,DNC\nBob,(415) 555-0101,Y\nCleo,(415) 555-0102,\nDan,(415) 555-0103,no\n"
        b"Eve,(415) 555-0104,soft\n",
    )
    contact_import = ContactImport.objects.get()
    admin_client.post(
        columns_url(contact_import),
        {"column_0": "name", "column_1": "phone", "column_2": "calls_opt_out"},
    )
    admin_client.post(apply_url(contact_import))
    calls = {c.name: c.opt_in_status(Channel.CALLS) for c in Contact.objects.all()}
    assert calls == {"Bob": "hard", "Cleo": "subscribed", "Dan": "subscribed", "Eve": "soft"}
    assert {c.name: c.opt_in_status(Channel.SMS) for c in Contact.objects.all()} == dict.fromkeys(
        calls, "subscribed"
    )


def test_a_do_not_text_header_is_read_as_a_list_of_opt_outs(admin_client):
    response = upload(admin_client, b"Name,Phone,Do Not Text\nBob,(415) 555-0101,Yes\n")
    assert "people.csv: 1 row ready" in response.content.decode()
    admin_client.post(apply_url(ContactImport.objects.get()))
    assert Contact.objects.get().opt_in_status(Channel.SMS) == "hard"


def test_a_list_of_opt_outs_with_a_word_it_cannot_read_is_a_problem_row(admin_client):
    response = upload(admin_client, b"Name,Phone,Do not call\nBob,(415) 555-0101,maybe\n")
    assert "“maybe”: in a list of opt-outs, write yes (or hard)" in response.content.decode()


def test_a_channel_and_its_list_of_opt_outs_are_read_together(admin_client):
    """An opt-in column and a do-not list of another system: the list's yes is the stronger,
    its empty leaves the opt-in column's value."""
    upload(
        admin_client,
        b"Name,Phone,SMS,Do not text,Do not contact\n"
        b"Ann,(415) 555-0101,yes,yes,\nBob,(415) 555-0102,yes,,\nCy,(415) 555-0103,soft,,\n"
        b"Dee,(415) 555-0104,yes,soft,\nEd,(415) 555-0105,yes,,y\n",
    )
    admin_client.post(apply_url(ContactImport.objects.get()))
    statuses = {
        c.name: (c.opt_in_status(Channel.SMS), c.opt_in_status(Channel.CALLS))
        for c in Contact.objects.all()
    }
    assert statuses == {
        "Ann": ("hard", "subscribed"), "Bob": ("subscribed", "subscribed"),
        "Cy": ("soft", "subscribed"), "Dee": ("soft", "subscribed"), "Ed": ("hard", "hard"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "header", ["Do Not Phone", "DND", "Suppressed", "TCPA", "Blocked", "Do not solicit"]
)
def test_a_column_of_who_must_not_be_reached_is_not_ignored_unasked(admin_client, header):
    """Review D: "Do Not Contact: Y" and its like named no channel, and were ignored unasked:
    Bob was imported subscribed to texts and calls."""
    upload(admin_client, f"Name,Phone,{header}\nBob,(415) 555-0101,Y\n".encode())
    assert ContactImport.objects.get().status == "matching"


def test_a_do_not_contact_list_opts_out_of_both_channels(admin_client):
    upload(admin_client, b"Name,Phone,Do Not Contact\nBob,(415) 555-0101,Y\n")
    admin_client.post(apply_url(ContactImport.objects.get()))
    bob = Contact.objects.get()
    assert (bob.opt_in_status(Channel.SMS), bob.opt_in_status(Channel.CALLS)) == ("hard", "hard")


def test_a_known_consent_column_named_twice_is_asked_about(admin_client):
    """Review D: two "Do not call" columns (a national list and the office's own) were both
    preset to Ignore, neither asked about, and nobody was opted out of calls."""
    upload(
        admin_client,
        b"Name,Phone,Do not call,Do not call\nBob,(415) 555-0101,Y,\nCy,(415) 555-0102,,Y\n",
    )
    contact_import = ContactImport.objects.get()
    fields = {"column_0": "name", "column_1": "phone", "column_2": "", "column_3": ""}
    page = admin_client.post(columns_url(contact_import), fields).content.decode()
    assert page.count("Choose what this column holds, or Ignore.") == 2
    contact_import.refresh_from_db()
    assert contact_import.status == "matching"
    fields |= {"column_2": "calls_opt_out", "column_3": "opted_out"}
    admin_client.post(columns_url(contact_import), fields)
    admin_client.post(apply_url(contact_import))
    calls = {c.name: c.opt_in_status(Channel.CALLS) for c in Contact.objects.all()}
    assert calls == {"Bob": "hard", "Cy": "hard"}


def test_the_command_s_advice_for_a_dnc_column_names_the_lists_of_opt_outs(db, tmp_path):
    """Review D: the command advised renaming a DNC column "calls", whose Ys are opt-ins."""
    path = tmp_path / "people.csv"
    path.write_bytes(b"Name,Phone,DNC\nBob,(415) 555-0101,Y\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_contacts", str(path))
    assert "do not call or do not contact for a list of opt-outs" in str(refused.value)
    path.write_bytes(b"Name,Phone,Do not call\nBob,(415) 555-0101,Y\n")  # as advised
    call_command("import_contacts", str(path))
    assert Contact.objects.get().opt_in_status(Channel.CALLS) == "hard"


def test_the_preview_names_the_tags_it_creates_and_those_they_look_like(admin_client):
    """A new user's file said "Lead" where the app had "Leads": a new tag was made, and the
    Manager's broadcast to Leads missed them."""
    from contacts.models import Tag

    Tag.objects.create(name="Leads")
    Tag.objects.create(name="VIP")
    page = upload(
        admin_client,
        'Name,Phone,Tags,Status\nAna,(415) 555-0101,"Lead, VIP",do not contact\n'
        "Bob,(415) 555-0102,Café,\n".encode(),
    ).content.decode()
    assert (
        'New tags: <strong>Café</strong>, <strong>Lead</strong> <span class="tag-like">'
        "(you have “Leads”: a broadcast to one does not reach the other)</span>."
    ) in page
    assert "<td>Do not contact</td>" in page and "do_not_contact" not in page


@pytest.mark.parametrize("header", ["Unsubscribed", "Opted Out"])
def test_an_opted_out_column_that_names_no_channel_is_asked_about(admin_client, header):
    """Often another system's e-mail unsubscribes: its uploader says what it is, rather than
    have every Y a hard opt-out of texts and calls that nobody here could lift."""
    upload(admin_client, f"Name,Phone,{header}\nBob,(415) 555-0101,Y\n".encode())
    assert ContactImport.objects.get().status == "matching"


@pytest.mark.parametrize(
    "header", ["HasOptedOutOfMobile", "isDNC", "OptedOutSMS", "NoText", "DNCFlag"]
)
def test_a_camel_case_opt_out_column_is_asked_about(admin_client, db, tmp_path, header):
    """Review E: CRMs export their fields in camelCase (Salesforce Marketing Cloud's
    HasOptedOutOfMobile); read as one word, it was ignored unasked, and Bob imported
    subscribed. The command refuses such a file too."""
    content = f"Name,Phone,{header}\nBob,(415) 555-0101,Y\n"
    upload(admin_client, content.encode())
    assert ContactImport.objects.get().status == "matching"
    path = tmp_path / "people.csv"
    path.write_text(content)
    with pytest.raises(CommandError, match=header):
        call_command("import_contacts", str(path))
