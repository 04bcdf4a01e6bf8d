import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management import CommandError, call_command
from django.core.validators import validate_email
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts import imports, services
from contacts.models import (
    Channel,
    ConsentEvent,
    Contact,
    ContactImport,
    ImportProblem,
    ImportRow,
    OptInStatus,
    PhoneOptOut,
    Source,
)
from tests.factories import ContactFactory

SMS, CALLS = Channel.SMS, Channel.CALLS


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def status(contact: Contact, channel: Channel) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


def checked(data: bytes, name: str = "x.csv") -> ContactImport:
    """The import of `data`, stored and checked (ImportFileError if it cannot be stored)."""
    contact_import = imports.store(File(io.BytesIO(data), name=name), by_user=None)
    imports.check(contact_import)
    return contact_import


def applied(contact_import: ContactImport) -> ContactImport:
    assert imports.start_applying(contact_import)
    imports.apply(contact_import)
    contact_import.refresh_from_db()
    return contact_import


def problems(contact_import: ContactImport, *, kept_hard: bool = False) -> list[tuple]:
    rows = ImportProblem.objects.filter(contact_import=contact_import, kept_hard=kept_hard)
    return list(rows.values_list("row", "column", "reason"))


def test_it_creates_and_updates_and_opts_out(db):
    known = ContactFactory(name="Ana Alvarez", phone="+14155550101", email="")
    result = applied(checked(csv_bytes(
        "Name,Phone,Email,Tags,SMS,Calls",
        "ana alvarez,(415) 555-0101,ana@example.com,VIP,soft,",
        "Ben Brown,+1 415 555 0102,,\"Leads, VIP\",,hard",
    ), name="list.csv"))  # fmt: skip
    assert (result.created, result.updated, result.opted_out) == (1, 1, 2)
    known.refresh_from_db()
    assert known.email == "ana@example.com"
    assert status(known, SMS) == OptInStatus.SOFT
    ben = Contact.objects.get(name="Ben Brown")
    assert sorted(ben.tags.values_list("name", flat=True)) == ["Leads", "VIP"]
    assert status(ben, CALLS) == OptInStatus.HARD
    assert PhoneOptOut.objects.get(phone=ben.phone).source == Source.IMPORT
    assert ConsentEvent.objects.filter(contact=known, note="Import of list.csv").exists()


def test_it_never_lifts_a_hard_opt_out_and_reports_it(db):
    contact = ContactFactory(name="Cy", phone="+14155550103")
    services.record_hard_opt_out(phone=contact.phone, channel=SMS, source=Source.KEYWORD)
    soft = ContactFactory(name="Di", phone="+14155550104")
    services.unsubscribe(contact=soft, channel=SMS, by_user=None)
    result = applied(checked(csv_bytes(
        "name,phone,sms", "Cy,+14155550103,subscribed", "Di,+14155550104,subscribed"
    )))  # fmt: skip
    assert status(contact, SMS) == OptInStatus.HARD
    assert status(soft, SMS) == OptInStatus.SUBSCRIBED
    assert problems(result, kept_hard=True) == [(2, "sms", imports.KEPT_HARD)]
    assert "1 hard opt-out kept" in result.summary()


def test_another_system_s_yes_imports_as_subscribed(db):
    ana = ContactFactory(name="Ana", phone="+14155550101")
    services.unsubscribe(contact=ana, channel=SMS, by_user=None)
    result = applied(checked(csv_bytes(
        "Name,Phone,SMS Opt-In,Calls Opt-In", "Ana,+14155550101,Yes,", "Ben,+14155550102,,TRUE",
    )))  # fmt: skip
    assert result.status == "done"
    ben = Contact.objects.get(name="Ben")
    assert (status(ana, SMS), status(ben, CALLS)) == (OptInStatus.SUBSCRIBED,) * 2


@pytest.mark.parametrize(
    "no",
    ["No", "n", "FALSE", "0", "Unsubscribed", "Opted out", "opted out", "Opt-out", "STOP", "DNC"],
)
def test_another_system_s_no_asks_whether_the_contact_or_the_business_stopped_it(db, no):
    """Their own STOP (hard, which nobody here may lift) or the business's (soft): an import
    cannot tell, and guessing soft would let a user text someone who asked to stop. Another
    system's "Unsubscribed" or "Opted out" says no more (a review found them read as soft)."""
    result = checked(csv_bytes("name,phone,SMS Opt-In", f"Ana,+14155550101,{no}"))
    [(row, column, reason)] = problems(result)
    assert (row, column) == (2, "sms")
    assert f"“{no}”: write hard where the contact opted out themselves (a STOP in" in reason
    assert "nobody here can ever lift it" in reason
    assert not Contact.objects.exists()


def test_a_calls_column_s_no_asks_about_the_unsubscribe_key(db):
    result = checked(csv_bytes("name,phone,Calls Opt-In", "Ana,+14155550101,Do not call"))
    [(row, column, reason)] = problems(result)
    assert (row, column) == (2, "calls")
    assert "(the unsubscribe key on a call in another system" in reason


@pytest.mark.parametrize("yes", ["1", "Opt-in", "opted in"])
def test_other_systems_ways_of_saying_yes(db, yes):
    result = applied(checked(csv_bytes("name,phone,SMS Opt-In", f"Ana,+14155550101,{yes}")))
    assert result.status == "done"
    assert status(Contact.objects.get(), SMS) == OptInStatus.SUBSCRIBED


def test_an_opt_in_value_that_is_neither_is_a_problem_of_its_row(db):
    result = checked(csv_bytes("name,phone,sms", "Ana,+14155550101,maybe"))
    assert problems(result) == [
        (2, "sms", "“maybe”: use subscribed (or yes), soft or hard, or leave it empty.")
    ]
    assert not Contact.objects.exists()


def test_an_export_imports_as_it_is(client, admin_role_user):
    ContactFactory(name="Eve", phone="+14155550105", time_zone="America/Chicago", state="TX")
    client.force_login(admin_role_user)
    exported = b"".join(
        client.post("/contacts/bulk/", {"action": "export", "scope": "all"}).streaming_content
    )
    contact_import = checked(exported)
    assert contact_import.status == "ready"
    assert contact_import.ignored_columns == ["created_at"]
    assert applied(contact_import).updated == 1
    assert list(Contact.objects.values_list("time_zone", "state")) == [("America/Chicago", "TX")]


def test_a_row_s_time_zone_and_state_are_imported_and_empty_ones_change_nothing(db):
    kept = ContactFactory(name="Kay", phone="+14155550106", time_zone="America/Denver", state="CO")
    moved = ContactFactory(name="Mo", phone="+14155550107")
    result = applied(checked(csv_bytes(
        "Name,Phone,Time Zone,State",
        "Ana,+14155550101,america/chicago,texas",
        "Ben,+14155550102,,",
        "Kay,+14155550106,,",
        "Mo,+14155550107,Pacific/Honolulu,hi",
    )))  # fmt: skip
    assert (result.created, result.updated) == (2, 2)
    places = dict(Contact.objects.values_list("name", "time_zone"))
    assert places == {"Ana": "America/Chicago", "Ben": "", "Kay": "America/Denver",
                      "Mo": "Pacific/Honolulu"}  # fmt: skip
    assert dict(Contact.objects.values_list("name", "state")) == {
        "Ana": "TX", "Ben": "", "Kay": "CO", "Mo": "HI"
    }  # fmt: skip
    assert Contact.objects.get(pk=moved.pk).updated_at > moved.updated_at
    assert Contact.objects.get(pk=kept.pk).updated_at == kept.updated_at


def test_an_unknown_time_zone_or_state_is_a_problem_of_its_row_and_nothing_is_imported(db):
    known = ContactFactory(name="Kay", phone="+14155550106", time_zone="America/Denver")
    contact_import = checked(csv_bytes(
        "name,phone,time zone,state",
        "Ana,+14155550101,America/Chicago,TX",
        "Kay,+14155550106,Mars/Olympus,",
        "Ben,+14155550102,,Ontario",
    ))  # fmt: skip
    assert contact_import.status == "problems"
    assert problems(contact_import) == [
        (3, "time_zone",
         "“Mars/Olympus” is not a time zone: use an IANA name, such as America/Chicago."),
        (4, "state", "“Ontario” is not a US state or territory: use its postal code, such as TX."),
    ]  # fmt: skip
    assert not imports.start_applying(contact_import)
    assert list(Contact.objects.values_list("name", "time_zone")) == [("Kay", "America/Denver")]
    assert known.pk == Contact.objects.get().pk


@pytest.mark.parametrize("name", ["=SUM(A1)", "+plus", "-minus", "@at", "'=quoted", "'plain"])
def test_an_export_imported_again_gives_back_the_same_contacts(client, admin_role_user, name):
    """Cells an export neutralised ('=…) come back as they were: no duplicate contacts."""
    ContactFactory(name=name, phone="+14155550105", email="")
    client.force_login(admin_role_user)
    exported = b"".join(
        client.post("/contacts/bulk/", {"action": "export", "scope": "all"}).streaming_content
    )
    result = applied(checked(exported))
    assert (result.created, result.updated) == (0, 1)
    assert list(Contact.objects.values_list("name", flat=True)) == [name]


def test_every_row_is_checked_and_problems_name_row_and_column(db):
    contact_import = checked(csv_bytes(
        "name,phone,email,status,sms",
        "Ok,+14155550101,,,",
        ",+14155550102,,,",
        "Bad phone,555,,,",
        "Bad email,+14155550103,not-an-email,,",
        "Bad status,+14155550104,,retired,",
        "Bad sms,+14155550105,,,maybe",
        "OK,+14155550101,,,",
    ))  # fmt: skip
    assert contact_import.status == "problems"
    found = problems(contact_import)
    assert [(row, column) for row, column, _ in found] == [
        (3, "name"), (4, "phone"), (5, "email"), (6, "status"), (7, "sms"), (8, "phone"),
    ]  # fmt: skip
    assert found[1][2] == "“555” is not a valid phone number."
    assert found[-1][2] == "The same contact as row 2."
    assert not imports.start_applying(contact_import)
    assert not Contact.objects.exists()


def test_an_email_too_long_for_a_contact_is_a_problem_of_its_row(db):
    """Django's validate_email takes up to 320 characters; a contact's email holds 254."""
    long_email = "a" * 250 + "@example.com"
    contact_import = checked(csv_bytes("name,phone,email", f"Long,+14155550101,{long_email}"))
    assert contact_import.status == "problems"
    assert problems(contact_import) == [(2, "email", f"“{'a' * 20}…”: at most 254 characters.")]


@given(
    st.from_regex(r"[a-z0-9._%+-]{1,12}@[a-z0-9.-]{1,20}\.[a-z]{1,4}", fullmatch=True)
    | st.emails().map(lambda email: email[:254])
    | st.text(alphabet="aZ9._%+-@!#'`~é\"[]:", max_size=30)
)
def test_the_plain_email_expression_accepts_only_what_validate_email_accepts(email):
    if imports.PLAIN_EMAIL.fullmatch(email):
        validate_email(email)  # raises if the expression took too much
    try:
        validate_email(email)
    except ValidationError:
        assert not imports._is_email(email)
    else:
        assert imports._is_email(email)


@pytest.mark.parametrize("header", ["name,phone,name", "name,phone,phone", "name,Phone,Mobile"])
def test_a_field_named_twice_is_matched_by_the_uploader_not_guessed(db, header):
    """Two phone columns (a home and a mobile number): which one the contact has is the
    uploader's call; reading the last lost the other without a word."""
    contact_import = imports.store(
        File(io.BytesIO(csv_bytes(header, "Old,+14155550101,+14155550102")), name="x.csv"),
        by_user=None,
    )
    assert contact_import.status == ContactImport.Status.MATCHING
    assert imports.set_columns(contact_import, ["name", "phone", ""])
    imports.check(contact_import)
    assert applied(contact_import).created == 1
    assert list(Contact.objects.values_list("name", "phone")) == [("Old", "+14155550101")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b" , \nA,B\n", "The first row names no column"),
        (b"name,phone\nJos\x81,+14155550101\n", "not UTF-8 text, nor Windows-1252"),
        (b"PK\x03\x04\x00\x00binary", "not a CSV file"),
    ],
)
def test_a_file_whose_header_cannot_be_read_is_refused_at_once(db, data, message):
    with pytest.raises(imports.ImportFileError, match=message):
        checked(data)
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize("first_piece", [20, 1024], ids=["past-the-first-piece", "in-it"])
def test_a_windows_1252_file_is_read_as_excel_wrote_it(db, monkeypatch, first_piece):
    """Excel's plain "CSV" on Windows: "José" is one byte, wherever it comes in the file."""
    monkeypatch.setattr(imports, "PIECE", first_piece)
    data = "name,phone\nAna,+14155550101\nJosé Muñoz,+14155550102\n".encode("cp1252")
    applied(checked(data))
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Ana", "José Muñoz"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,phone\n", "no contacts"),
        (b"name,phone\nA,+14155550101\n\x00", "not a CSV file"),
    ],
)
def test_a_file_that_cannot_be_read_further_on_is_refused_whole(db, monkeypatch, data, message):
    monkeypatch.setattr(imports, "PIECE", 20)  # the problem is in a later piece
    contact_import = checked(data)
    assert contact_import.status == "unreadable"
    assert message in contact_import.error
    assert not contact_import.importrow_set.exists()
    assert not imports.start_applying(contact_import)


def test_a_file_over_the_size_limit_is_refused_with_its_real_size(db, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 5 * 1024 * 1024)
    data = b"name,phone\n" + b"Ann,+14155550101\n" * (52 * 1024 * 1024 // 17)
    with pytest.raises(imports.ImportFileError, match=r"The file is 52\.0 MB; the most is 5 MB"):
        checked(data)
    assert not ContactImport.objects.exists()


def test_a_file_of_more_than_a_million_rows_is_refused(db, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    contact_import = checked(csv_bytes("name,phone", *[f"P{i},+1415555010{i}" for i in range(4)]))
    assert contact_import.status == "unreadable"
    assert contact_import.error == "The file has more than 3 rows: split it."


def test_a_failure_half_way_keeps_the_batches_before_it_and_goes_on_later(
    db, monkeypatch, settings
):
    """Each batch is a transaction of its own: a failure undoes its own batch only, the import
    says how far it came, and applying it again goes on from there without doubles."""
    settings.IMPORT_BATCH_SIZE = 1
    contact_import = checked(csv_bytes("name,phone,tags", "A,+14155550101,x", "B,+14155550102,y"))
    original, calls = imports._tags, []

    def failing_tags(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        original(*args)

    monkeypatch.setattr(imports, "_tags", failing_tags)
    with pytest.raises(RuntimeError):
        applied(contact_import)
    contact_import.refresh_from_db()
    assert (contact_import.status, contact_import.rows_applied) == ("failed", 1)
    assert contact_import.error == "the database went away"
    assert list(Contact.objects.values_list("name", flat=True)) == ["A"]
    result = applied(contact_import)
    assert (result.status, result.created, result.rows_applied) == ("done", 2, 2)
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["A", "B"]


def test_a_check_run_again_takes_over_from_the_one_still_running(db, monkeypatch):
    """A worker restarted mid-check runs it again (`resume`): the first run stops at its next
    write, and the file is checked once, whole."""
    monkeypatch.setattr(imports, "CHECK_BATCH", 2)
    lines = [f"P{i},+1415555{i:04d}" for i in range(100, 110)]
    contact_import = imports.store(
        File(io.BytesIO(csv_bytes("name,phone", *lines)), name="x.csv"), by_user=None
    )
    check_row, keep_lines, calls, writes = imports._check, imports._keep, [], []

    def counted(number, cells, found, disclosures):
        calls.append(number)
        return check_row(number, cells, found, disclosures)

    def check_again_before_the_third_write(contact_import, lines):
        writes.append(contact_import.checker)
        if len(writes) == 3:  # rows 2 to 5 written, rows 6 and 7 about to be
            imports.check(ContactImport.objects.get(pk=contact_import.pk))
        keep_lines(contact_import, lines)

    monkeypatch.setattr(imports, "_check", counted)
    monkeypatch.setattr(imports, "_keep", check_again_before_the_third_write)
    imports.check(contact_import)
    contact_import.refresh_from_db()
    assert calls.count(5) == 2  # the second run read the whole file
    assert (contact_import.status, contact_import.rows_ready) == ("ready", 10)
    assert contact_import.importrow_set.count() == 10


def test_the_worker_resumes_the_imports_it_was_working_on(db, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    checking = imports.store(
        File(io.BytesIO(csv_bytes("name,phone", "A,+14155550101")), name="c.csv"), by_user=None
    )
    applying = checked(csv_bytes("name,phone", "B,+14155550102"))
    assert imports.start_applying(applying)
    assert imports.resume() == 2
    checking.refresh_from_db()
    applying.refresh_from_db()
    assert (checking.status, applying.status) == ("ready", "done")
    assert list(Contact.objects.values_list("name", flat=True)) == ["B"]


def test_an_import_is_applied_once_however_often_it_is_claimed(db):
    contact_import = checked(csv_bytes("name,phone", "A,+14155550101"))
    assert imports.start_applying(contact_import)
    assert not imports.start_applying(contact_import)
    imports.apply(contact_import)
    imports.apply(contact_import)
    assert Contact.objects.count() == 1


def test_many_rows_are_applied_in_batches_like_one(db, settings):
    settings.IMPORT_BATCH_SIZE = 7
    hard = ContactFactory(name="Hal", phone="+14155550199")
    services.record_hard_opt_out(phone=hard.phone, channel=SMS, source=Source.KEYWORD)
    lines = [f"P{i},+1415555{i:04d},t{i % 3},soft,hard" for i in range(100, 150)]
    result = applied(checked(csv_bytes(
        "name,phone,tags,sms,calls", *lines, "Hal,+14155550199,,subscribed,",
    )))  # fmt: skip
    assert (result.created, result.updated, result.rows_applied) == (50, 1, 51)
    assert (result.opted_out, result.kept_hard) == (100, 1)
    assert Contact.objects.opted_out_of(SMS, "soft").count() == 50
    assert PhoneOptOut.objects.filter(channel=CALLS, source=Source.IMPORT).count() == 50
    assert Contact.tags.through.objects.count() == 50


@pytest.mark.postgres
def test_a_batch_s_numbers_are_never_looked_up_through_the_trigram_index(db):
    """The search's trigram index of numbers once served `phone = ANY(...)` as well, and the
    planner chose it for a batch's 2,000 numbers in a small table: 16 s rather than 30 ms,
    and an import that did not end. Without the B-tree index of numbers, and scans made the
    last resort, the look-up still has no trigram index to use."""
    phones = [f"+1919{2_000_000 + i}" for i in range(2000)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP INDEX contact_phone")  # rolled back with the test
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Contact.objects.filter(phone__in=phones).order_by().values("id").explain()
    assert "trgm" not in plan, plan


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_a_check_or_a_clear_error(db, data):
    try:
        contact_import = checked(b"name,phone,sms\n" + data)
    except imports.ImportFileError as error:
        assert str(error)
        return
    assert contact_import.status in ("ready", "problems", "unreadable", "matching")
    if contact_import.status == "unreadable":
        assert contact_import.error
    for row, column, reason in problems(contact_import):
        assert row >= 2 and column and reason


def test_the_command_imports_a_file(db, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes("name,phone,calls", "Fay,+14155550106,soft"))
    call_command("import_contacts", str(path))
    assert (
        "Imported people.csv: 1 created, 0 updated, 1 opt-out recorded" in capsys.readouterr().out
    )
    assert status(Contact.objects.get(name="Fay"), CALLS) == OptInStatus.SOFT


def test_the_command_refuses_a_file_with_problems_and_imports_nothing(db, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes("name,phone", "Fay,+14155550106", "Gil,12"))
    with pytest.raises(CommandError, match="1 problems: nothing was imported"):
        call_command("import_contacts", str(path))
    assert "Row 3, phone: “12” is not a valid phone number." in capsys.readouterr().err
    assert not Contact.objects.exists()


def test_the_command_names_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_contacts", str(tmp_path / "nope.csv"))


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("Full Name,Phone Number,E-mail", "Ana Alvarez,(415) 555-0101,ana@example.com"),
        ("Contact Name,Mobile,Email Address", "Ana Alvarez,(415) 555-0101,ana@example.com"),
        ("First Name,Last Name,Cell,email", "Ana,Alvarez,(415) 555-0101,ana@example.com"),
        ("first_name,LAST-NAME,Cell Phone,E-Mail", "Ana,Alvarez,(415) 555-0101,ana@example.com"),
        ("NAME ,Mobile Phone,e-mail address", "Ana Alvarez,(415) 555-0101,ana@example.com"),
        ("Surname,Given Name,Telephone,Mail", "Alvarez,Ana,(415) 555-0101,ana@example.com"),
        ("Name,Tel,Notes,Email", "Ana Alvarez,(415) 555-0101,likes cats,ana@example.com"),
    ],
)
def test_headers_of_other_systems_are_understood(db, header, values):
    contact_import = checked(csv_bytes(header, values))
    assert contact_import.status == "ready", contact_import.error
    assert applied(contact_import).created == 1
    contact = Contact.objects.get()
    assert (contact.phone, contact.email) == ("+14155550101", "ana@example.com")
    assert contact.name in ("Ana Alvarez", "Alvarez Ana")  # in the file's column order


def test_first_and_last_names_are_joined_and_either_may_be_empty(db):
    result = applied(checked(csv_bytes(
        "First Name,Last Name,Phone", "Ana,Alvarez,+14155550101", "Ben,,+14155550102",
        ",Cruz,+14155550103",
    )))  # fmt: skip
    assert result.created == 3
    names = sorted(Contact.objects.values_list("name", flat=True))
    assert names == ["Ana Alvarez", "Ben", "Cruz"]


def test_a_row_with_neither_first_nor_last_name_is_a_problem(db):
    contact_import = checked(csv_bytes("First Name,Last Name,Phone", ",,+14155550101"))
    assert problems(contact_import) == [(2, "name", "A name is required.")]


@pytest.mark.parametrize(
    "header",
    [
        "Who,Number",  # neither field named
        "Name,Email",  # no phone
        "Name,Phone,Mobile",  # two columns read as the phone
        "Full Name,Name,Phone",  # two read as the name
        "Name,First Name,Phone",  # both a name and its parts
    ],
)
def test_a_header_that_does_not_say_which_column_is_which_waits_for_its_columns(db, header):
    contact_import = checked(csv_bytes(header, "Ana,+14155550101,x"))
    assert contact_import.status == "matching"
    assert not contact_import.importrow_set.exists()
    assert not imports.start_applying(contact_import)
    assert not Contact.objects.exists()


def test_matched_columns_are_checked_and_applied(db):
    contact_import = checked(csv_bytes(
        "Who,Number,Also Number,Groups",
        "Ana Alvarez,(415) 555-0101,+14155550199,VIP",
    ))  # fmt: skip
    assert imports.sample(contact_import) == [
        ("Who", ["Ana Alvarez"]),
        ("Number", ["(415) 555-0101"]),
        ("Also Number", ["+14155550199"]),
        ("Groups", ["VIP"]),
    ]
    assert imports.set_columns(contact_import, ["name", "phone", "", "tags"])
    assert not imports.set_columns(contact_import, ["name", "", "phone", "tags"])  # once only
    imports.check(contact_import)
    assert contact_import.status == "ready"
    assert contact_import.ignored_columns == ["also number"]
    assert applied(contact_import).created == 1
    contact = Contact.objects.get()
    assert (contact.name, contact.phone) == ("Ana Alvarez", "+14155550101")
    assert list(contact.tags.values_list("name", flat=True)) == ["VIP"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (["name", "", "email"], "Choose the column that holds the phone numbers."),
        (["name", "phone", "phone"], "Each field can be chosen for one column only: Phone."),
        (["", "phone", "email"], "Choose the column that holds the names"),
        (["name", "phone", "last_name"], "not both"),
        (["first_name", "phone", "last_name"], ""),
    ],
)
def test_columns_without_a_name_and_a_phone_or_with_a_field_twice_are_refused(fields, message):
    problem = imports.columns_problem(fields)
    assert message in problem if message else problem == ""


def test_the_command_refuses_a_file_whose_columns_are_not_named(db, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes("Who,Number", "Fay,+14155550106"))
    with pytest.raises(CommandError, match="does not name a name and a phone column"):
        call_command("import_contacts", str(path))
    assert not ContactImport.objects.exists()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "header", ["Don't Call", "Dont Call", "No Call", "OK to Call", "Call OK", "Can Text",
               "Stopped", "Unsub", "Can't Call", "Cannot Call", "Won't Call", "Call (Y/N)",
               "Callable", "Autodial OK", "TxtMsgOk"],
)  # fmt: skip
def test_the_command_refuses_another_system_s_do_not_call_flag_unmatched(db, tmp_path, header):
    """A cold attack's file: these columns were ignored, with only "Ignored columns" said,
    and the contacts on the list imported subscribed to calls."""
    path = tmp_path / "from-other-crm.csv"
    path.write_text(f'Name,Phone,"{header}"\nDana Diaz,(415) 555-0142,Y\n')
    with pytest.raises(CommandError, match="may say whether a contact may be texted or called"):
        call_command("import_contacts", str(path))
    assert not Contact.objects.exists()


def test_the_preview_counts_the_contacts_created_and_updated(db):
    ContactFactory(name="Ana Alvarez", phone="+14155550101")
    contact_import = checked(csv_bytes(
        "name,phone", "ANA alvarez,+14155550101", "Ben,+14155550102", "Ana Alvarez,+14155550109"
    ))  # fmt: skip
    preview = imports.preview(contact_import)
    assert (preview.creates, preview.updates) == (2, 1)
    assert [row.updates for row in imports.first_rows(contact_import)] == [True, False, False]
    result = applied(contact_import)
    assert (result.created, result.updated) == (2, 1)


def test_the_preview_flags_the_opt_ins_a_hard_opt_out_overrides_and_apply_keeps_it(db):
    cy = ContactFactory(name="Cy", phone="+14155550103")
    services.record_hard_opt_out(phone=cy.phone, channel=SMS, source=Source.KEYWORD)
    # A number opted out with no contact yet: the contact the import creates takes it on.
    services.record_hard_opt_out(phone="+14155550105", channel=CALLS, source=Source.DIGIT)
    di = ContactFactory(name="Di", phone="+14155550104")
    services.unsubscribe(contact=di, channel=SMS, by_user=None)
    contact_import = checked(csv_bytes(
        "name,phone,sms,calls",
        "Cy,+14155550103,subscribed,subscribed",  # sms kept hard, calls applied
        "Di,+14155550104,subscribed,",  # a soft opt-out: lifted
        "Eve,+14155550105,hard,soft",  # hard again changes nothing; calls kept hard
        "Fay,+14155550103,soft,",  # a new contact of a number opted out
    ))  # fmt: skip
    preview = imports.preview(contact_import)
    assert [(o.row, o.name, o.phone_display, o.column) for o in preview.overrides] == [
        (2, "Cy", "(415) 555-0103", "sms"),
        (4, "Eve", "(415) 555-0105", "calls"),
        (5, "Fay", "(415) 555-0103", "sms"),
    ]
    assert preview.override_count == 3
    assert not Contact.objects.filter(name__in=["Eve", "Fay"]).exists()  # nothing applied yet
    result = applied(contact_import)
    kept = [(row, column) for row, column, _ in problems(result, kept_hard=True)]
    assert kept == [(o.row, o.column) for o in preview.overrides]
    assert status(cy, SMS) == OptInStatus.HARD
    assert status(Contact.objects.get(name="Eve"), CALLS) == OptInStatus.HARD
    assert status(Contact.objects.get(name="Fay"), SMS) == OptInStatus.HARD
    assert status(di, SMS) == OptInStatus.SUBSCRIBED


def test_the_preview_flags_rows_that_let_broadcasts_reach_a_number_held_back(db):
    """ "Do not contact" is a contact's: a file that adds another contact with the number, or
    makes the contact active again, lets broadcasts reach the number. The preview says so."""
    ContactFactory(name="Aisha Williams", phone="+15122000000", status="do_not_contact")
    ContactFactory(name="Hana Johnson", phone="+15122000002", status="do_not_contact")
    ContactFactory(name="Ava Perez", phone="+15122000003", status="archived")
    ContactFactory(name="Liam Active", phone="+15122000004")
    contact_import = checked(csv_bytes(
        "name,phone,status",
        "A. Williams,(512) 200-0000,",  # a new contact with the number
        "Hana Johnson,(512) 200-0002,active",  # made active again
        "Ava Perez,(512) 200-0003,",  # updated, its status kept
        "Liam Active,(512) 200-0004,active",
        "Aisha's son,(512) 200-0000,do not contact",  # a new contact held back too
    ))  # fmt: skip
    preview = imports.preview(contact_import)
    assert [(r.row, r.name, r.phone_display, r.change) for r in preview.released] == [
        (2, "A. Williams", "(512) 200-0000",
         "A new contact with the number of Aisha Williams (Do not contact)"),
        (3, "Hana Johnson", "(512) 200-0002", "Do not contact → Active"),
    ]  # fmt: skip
    assert preview.released_count == 2
    applied(contact_import)
    assert Contact.objects.get(name="Hana Johnson").status == "active"  # as it said


def test_the_preview_lists_the_first_overrides_and_counts_them_all(db, monkeypatch):
    monkeypatch.setattr(imports, "OVERRIDES_SHOWN", 1)
    services.record_hard_opt_out(phone="+14155550105", channel=SMS, source=Source.KEYWORD)
    contact_import = checked(csv_bytes(
        "name,phone,sms", "Eve,+14155550105,subscribed", "Eva,+14155550105,soft"
    ))  # fmt: skip
    preview = imports.preview(contact_import)
    assert [(o.row, o.column) for o in preview.overrides] == [(2, "sms")]
    assert preview.override_count == 2


CHOICES = ["", "subscribed", "soft", "hard"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    contacts=st.lists(
        st.tuples(st.sampled_from(["Ana", "Ben"]), st.integers(1, 4), st.sampled_from(CHOICES)),
        max_size=6,
    ),
    numbers=st.lists(st.tuples(st.integers(1, 4), st.sampled_from(list(Channel))), max_size=3),
    rows=st.lists(
        st.tuples(
            st.sampled_from(["Ana", "ben", "Cy"]), st.integers(1, 4),
            st.sampled_from(CHOICES), st.sampled_from(CHOICES),
        ),
        max_size=6, unique_by=lambda row: (row[0].lower(), row[1]),
    ),
)  # fmt: skip
def test_the_preview_flags_exactly_the_rows_apply_reports_kept_hard(db, contacts, numbers, rows):
    """The preview's statement and the apply's rule, held to each other on random data."""
    Contact.objects.all().delete()
    phone = "+1415555010{}".format
    for name, number, sms in contacts:
        contact = ContactFactory(name=name, phone=phone(number))
        if sms == "soft":
            services.unsubscribe(contact=contact, channel=SMS, by_user=None)
    for number, channel in numbers:
        services.record_hard_opt_out(phone=phone(number), channel=channel, source=Source.KEYWORD)
    if not rows:
        return
    contact_import = checked(csv_bytes(
        "name,phone,sms,calls", *(f"{n},{phone(p)},{s},{c}" for n, p, s, c in rows)
    ))  # fmt: skip
    preview = imports.preview(contact_import)
    shown = imports.first_rows(contact_import, count=len(rows))
    assert sum(bool(row.updates) for row in shown) == preview.updates
    existing = Contact.objects.count()
    result = applied(contact_import)
    assert (preview.creates, preview.updates) == (result.created, result.updated)
    assert Contact.objects.count() == existing + preview.creates
    kept = [(row, column) for row, column, _ in problems(result, kept_hard=True)]
    assert [(o.row, o.column) for o in preview.overrides] == sorted(kept)
    assert preview.override_count == result.kept_hard


def test_deleting_an_import_deletes_its_staged_rows(db):
    """Staged rows are not foreign-key constraints (migration 0018): the delete removes them."""
    kept = checked(csv_bytes("name,phone", "Ana,+14155550101"))
    gone = checked(csv_bytes("name,phone", "Ben,+14155550102", "Cy,+14155550103"))
    ContactImport.objects.filter(pk=gone.pk).delete()
    staged = ImportRow.objects.values_list("contact_import_id", "name")
    assert list(staged) == [(kept.pk, "Ana")]


def test_a_status_outside_the_choices_written_in_sql_is_named_as_it_is(db):
    held = ContactFactory(name="Odd Status", phone="+15122000009")
    Contact.objects.filter(pk=held.pk).update(status="on_hold")  # as another system might
    contact_import = checked(csv_bytes("name,phone", "Newcomer,(512) 200-0009"))
    [released] = imports.preview(contact_import).released
    assert released.change == "A new contact with the number of Odd Status (on_hold)"
