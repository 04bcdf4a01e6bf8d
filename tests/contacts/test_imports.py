import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts import imports, services
from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, PhoneOptOut, Source
from tests.factories import ContactFactory

SMS, CALLS = Channel.SMS, Channel.CALLS


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def status(contact: Contact, channel: Channel) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


def test_it_creates_and_updates_and_opts_out(db):
    known = ContactFactory(name="Ana Alvarez", phone="+14155550101", email="")
    plan = imports.read(csv_bytes(
        "Name,Phone,Email,Tags,SMS,Calls",
        "ana alvarez,(415) 555-0101,ana@example.com,VIP,soft,",
        "Ben Brown,+1 415 555 0102,,\"Leads, VIP\",,hard",
    ))  # fmt: skip
    assert plan.ok
    result = imports.apply(plan, by_user=None, file_name="list.csv")
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
    plan = imports.read(csv_bytes(
        "name,phone,sms", "Cy,+14155550103,subscribed", "Di,+14155550104,subscribed"
    ))  # fmt: skip
    result = imports.apply(plan, by_user=None, file_name="x.csv")
    assert status(contact, SMS) == OptInStatus.HARD
    assert status(soft, SMS) == OptInStatus.SUBSCRIBED
    assert [(p.row, p.column) for p in result.kept_hard] == [(2, "sms")]
    assert "1 hard opt-outs kept" in result.summary()


def test_an_export_imports_as_it_is(client, staff_user):
    ContactFactory(name="Eve", phone="+14155550105")
    client.force_login(staff_user)
    exported = b"".join(
        client.post("/contacts/bulk/", {"action": "export", "scope": "all"}).streaming_content
    )
    plan = imports.read(exported)
    assert plan.ok and plan.ignored_columns == ["created_at"]
    assert imports.apply(plan, by_user=None, file_name="e.csv").updated == 1


def test_every_row_is_checked_and_problems_name_row_and_column(db):
    plan = imports.read(csv_bytes(
        "name,phone,email,status,sms",
        "Ok,+14155550101,,,",
        ",+14155550102,,,",
        "Bad phone,555,,,",
        "Bad email,+14155550103,not-an-email,,",
        "Bad status,+14155550104,,retired,",
        "Bad sms,+14155550105,,,maybe",
        "Ok,+14155550101,,,",
    ))  # fmt: skip
    assert not plan.ok
    assert [(p.row, p.column) for p in plan.problems] == [
        (3, "name"), (4, "phone"), (5, "email"), (6, "status"), (7, "sms"), (8, "phone"),
    ]  # fmt: skip
    assert plan.problems[1].reason == "“555” is not a valid phone number."
    assert plan.problems[-1].reason == "The same contact as row 2."
    with pytest.raises(ValueError):
        imports.apply(plan, by_user=None, file_name="x.csv")
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"name,phone\n", "no contacts"),
        (b"first,last\nA,B\n", "The header row has no name or phone column"),
        ("name,phone\nJosé,+14155550101\n".encode("latin-1"), "not UTF-8"),
        (b"PK\x03\x04\x00\x00binary", "not a CSV file"),
        (b"name,phone\n" + b"x" * (imports.MAX_BYTES + 1), "the most is 5 MB"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(db, data, message):
    with pytest.raises(imports.ImportFileError, match=message):
        imports.read(data)


def test_a_failure_half_way_leaves_nothing_behind(db, monkeypatch):
    plan = imports.read(csv_bytes("name,phone", "A,+14155550101", "B,+14155550102"))
    calls = []

    def failing_create(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return original(**kwargs)

    original = services.create_contact
    monkeypatch.setattr(services, "create_contact", failing_create)
    with pytest.raises(RuntimeError):
        imports.apply(plan, by_user=None, file_name="x.csv")
    assert not Contact.objects.exists()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_a_plan_or_a_clear_error(db, data):
    try:
        plan = imports.read(b"name,phone,sms\n" + data)
    except imports.ImportFileError as error:
        assert str(error)
        return
    for problem in plan.problems:
        assert problem.row >= 2 and problem.column and problem.reason


def test_the_command_imports_a_file(db, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes("name,phone,calls", "Fay,+14155550106,soft"))
    call_command("import_contacts", str(path))
    assert (
        "Imported people.csv: 1 created, 0 updated, 1 opt-outs recorded" in capsys.readouterr().out
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
