"""The export's file: every contact once, in name order, piece by piece; and on PostgreSQL
the cells the database works out (a COPY) are those written in Python, whatever the text."""

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts import csv_export, services
from contacts.models import Channel, Contact, Source, Tag
from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def test_the_file_holds_every_contact_once_in_the_order_they_were_added(monkeypatch):
    monkeypatch.setattr(csv_export, "PIECE_ROWS", 2)
    for name in ["Eve", "Ann", "Dan", "Bob", "Cat"]:
        ContactFactory(name=name)
    pieces = csv_export.pieces(Contact.objects.all())
    header, count = next(pieces)
    assert (read(header), count) == ([csv_export.COLUMNS], 0)
    first, count = next(pieces)
    assert count == 2
    # A contact renamed meanwhile stays where it was: in the file once.
    Contact.objects.filter(name="Eve").update(name="Zoe")
    Contact.objects.filter(name="Cat").update(name="Abe")
    rest = list(pieces)
    assert [count for _, count in rest] == [2, 1]
    rows = read(first + b"".join(data for data, _ in rest))
    assert [row[0] for row in rows] == ["Eve", "Ann", "Dan", "Bob", "Abe"]


# Text as people and attackers type it: formulas, quotes, separators, line breaks, accents.
TEXT = st.text(
    st.sampled_from(["=", "+", "-", "@", "'", '"', ",", "\t", "\r", "\n", "a", "Z", "é", " ", "1"]),
    max_size=8,
) | st.sampled_from(["+14155550123", "+1415555012", "'+14155550123", "=1+1", "''=x"])


JULY = datetime(2026, 7, 1, 12, 30, 15, 999, tzinfo=UTC)


@pytest.mark.postgres
@hypothesis_settings(
    deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(TEXT, TEXT, st.sets(TEXT, max_size=3), st.sampled_from(["", "soft", "hard"])),
        min_size=1,
        max_size=6,
    )  # fmt: skip
)
def test_the_databases_cells_are_those_written_in_python(db, admin_role_user, settings, contacts):
    settings.TIME_ZONE = "America/New_York"  # times in the site's zone: 08:30:15-04:00
    Contact.objects.all().delete()
    Tag.objects.all().delete()
    for n, (name, email, tags, sms) in enumerate(contacts):
        contact = ContactFactory(name=name, email=email, phone=f"+1415555{n:04d}", created_at=JULY)
        for tag in tags:
            contact.tags.add(Tag.objects.get_or_create(name=tag[:60] or "(empty)")[0])
        if sms == "soft":
            services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
        elif sms == "hard":
            services.record_hard_opt_out(phone=contact.phone, channel=Channel.SMS,
                                         source=Source.KEYWORD)  # fmt: skip
    rows = Contact.objects.order_by("pk")
    copied, count = csv_export._copied(rows)
    written, written_count = csv_export._written(rows)
    assert copied == written  # the same bytes, as a file
    assert count == written_count == len(contacts)
    # A filtered view's piece: its contacts only, with only their tags and opt-outs.
    every_other = Contact.objects.filter(pk__in=list(rows.values_list("pk", flat=True))[::2])
    piece = csv_export.Ids(after=0, last=rows.last().pk)
    assert csv_export._copied(every_other, piece) == csv_export._written(every_other, piece)
    assert Contact.objects.first().created_at == JULY  # its zone left as Django reads times


def test_contacts_that_match_nothing_make_a_file_of_its_header_alone():
    ContactFactory()
    file = list(csv_export.pieces(Contact.objects.filter(pk__in=[])))
    assert [read(data) for data, _ in file] == [[csv_export.COLUMNS]]


PIECES_AT_ONCE = """
import django

django.setup()
from contacts import csv_export, services
from contacts.models import Channel, Contact, Source, Tag

csv_export.PIECE_ROWS = 2
vip = Tag.objects.create(name="VIP")
for n in range(7):
    contact = services.create_contact(name=f"=Name {n}", phone=f"+1415555{n:04d}")
    if n % 2:
        contact.tags.add(vip)
    if n % 3 == 0:
        services.record_hard_opt_out(phone=contact.phone, channel=Channel.SMS,
                                     source=Source.KEYWORD)
one = list(csv_export.pieces(Contact.objects.all()))
three = list(csv_export.pieces(Contact.objects.all(), workers=3))
first_row = one[1][0].decode().splitlines()[0]
print(one == three, [count for _, count in three], first_row.split(",")[0])
"""


@pytest.mark.postgres
def test_pieces_read_at_once_on_their_own_connections_make_the_same_file(request):
    output = run(PIECES_AT_ONCE, request.getfixturevalue("migrated"))
    assert output.split() == ["True", "[0,", "2,", "2,", "2,", "1]", "'=Name", "0"]
