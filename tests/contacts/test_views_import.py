import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts import imports
from contacts.models import Contact
from contacts.phones import normalize_phone
from tests.factories import UserFactory

URL = reverse("contacts:import")
APPLY = reverse("contacts:import_apply")


@pytest.fixture
def admin_client(client, admin_role_user):
    client.force_login(admin_role_user)
    return client


def upload(client, content: bytes, name: str = "people.csv"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content, "text/csv")})


def test_an_admin_checks_then_applies_a_file(admin_client):
    response = upload(admin_client, b"name,phone,sms\nAna,(415) 555-0101,soft\n")
    assert "people.csv: 1 row ready" in response.content.decode()
    assert not Contact.objects.exists()  # nothing before the apply
    response = admin_client.post(APPLY, follow=True)
    assert "Imported people.csv: 1 created, 0 updated, 1 opt-outs recorded" in (
        response.content.decode()
    )
    assert Contact.objects.get().opt_in_status("sms") == "soft"


def test_the_preview_lists_each_problem_and_offers_no_apply(admin_client):
    response = upload(admin_client, b"name,phone\nAna,555\n,+14155550101\n")
    page = response.content.decode()
    assert "2 problems" in page
    assert "<td>2</td><td>phone</td><td>“555” is not a valid phone number.</td>" in page
    assert "<td>3</td><td>name</td><td>A name is required.</td>" in page
    assert APPLY not in page
    response = admin_client.post(APPLY, follow=True)
    assert "The file has problems" in response.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", "is not a CSV file"),
        ("name,phone\nJosé,+14155550101\n".encode("cp1252"), "people.csv", "not UTF-8"),
    ],
)
def test_a_wrong_file_gets_a_clear_error(admin_client, content, name, message):
    response = upload(admin_client, content, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Contact.objects.exists()


def test_applying_without_a_checked_file_says_so(admin_client):
    response = admin_client.post(APPLY, follow=True)
    assert "There is no checked file to import" in response.content.decode()


@pytest.mark.parametrize("role", ["Staff", "Manager"])
def test_only_admins_may_import(client, db, role):
    client.force_login(UserFactory(role=role))
    assert client.get(URL).status_code == 403
    assert upload(client, b"name,phone\nAna,+14155550101\n").status_code == 403
    assert client.post(APPLY).status_code == 403


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
    """Whatever the rows, the upload answers with its preview, and applying it imports all of
    them or, when any has a problem, none: never a part."""
    Contact.objects.all().delete()
    body = "name,phone,sms\n" + "".join(f'"{n}","{p}","{s}"\n' for n, p, s in rows)
    response = upload(admin_client, body.encode())
    assert response.status_code == 200
    applied = admin_client.post(APPLY, follow=True)
    assert applied.status_code == 200
    try:
        plan = imports.read(body.encode())
    except imports.ImportFileError as error:  # e.g. no rows: said on the page
        assert str(error) in response.content.decode()
        assert Contact.objects.count() == 0
        return
    if plan.ok:
        people = {
            (name.lower(), normalize_phone(phone))
            for name, phone, sms in rows
            if name or phone or sms  # a blank line is no row
        }
        assert Contact.objects.count() == len(people)
    else:
        assert "problem" in response.content.decode()
        assert Contact.objects.count() == 0
