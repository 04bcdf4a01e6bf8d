"""The Insights page: each figure against data built for it. Who each channel may reach now,
opt-outs a day by source as the database counts them, each broadcast's outcome with the
opt-outs that followed it (the 48 hours, the latest broadcast), the reviews waiting, and
each chart's numbers as CSV."""

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import formats, timezone

from broadcasts import charts, insights
from broadcasts.models import Broadcast, Recipient
from contacts import services
from contacts.models import (
    Channel,
    ConsentMethod,
    ConsentRecord,
    Contact,
    LedgerCount,
    OptInStatus,
    Source,
)
from messaging import inbound
from messaging.models import InboundEvent, PossibleOptOut
from tests.broadcasts.engine import broadcast
from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
PAGE = reverse("broadcasts:insights")


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def today_counts() -> insights.Day:
    (day,) = insights.opt_outs_by_day(timezone.localdate(), timezone.localdate())
    return day


# --- Reach now ------------------------------------------------------------------------------


def reach_of(channel: Channel) -> dict[str, int]:
    insights.count_reach()
    return {group.key: group.contacts for group in insights.reach()[1][channel]}


def test_reach_counts_every_contact_once_by_what_each_channel_may_do(client, staff_user):
    consenting, unconsented, soft, hard = (ContactFactory() for _ in range(4))
    ConsentRecord.objects.create(
        phone=consenting.phone, channel=Channel.SMS, method=ConsentMethod.VERBAL,
        given_at=timezone.now(), contact=consenting,
    )  # fmt: skip
    services.unsubscribe(contact=soft, channel=Channel.SMS, by_user=staff_user)
    services.record_hard_opt_out(phone=hard.phone, channel=Channel.SMS, source=Source.KEYWORD)

    none_inactive = {"do_not_contact": 0, "archived": 0}
    assert reach_of(Channel.SMS) == {
        "consent": 1, "no_consent": 1, "soft": 1, "hard": 1, **none_inactive
    }  # fmt: skip
    assert reach_of(Channel.CALLS) == {
        "consent": 0, "no_consent": 4, "soft": 0, "hard": 0, **none_inactive
    }  # fmt: skip

    client.force_login(staff_user)
    page = client.get(PAGE).content.decode()
    for group in insights.reach()[1][Channel.SMS]:
        assert f'<a href="{group.url.replace("&", "&amp;")}">{group.label}</a>' in page
    assert page.count("25.0%") == 4  # each SMS group is a quarter of the contacts


def test_a_subscribed_contact_who_is_not_active_is_counted_apart_from_those_reached(
    client, staff_user
):
    """No broadcast reaches a contact marked Do not contact or archived: their own groups,
    each listing them, and not counted as reached."""
    ContactFactory(name="Ann Active")
    ContactFactory(name="Dan Dnc", status=Contact.Status.DO_NOT_CONTACT)
    archived = ContactFactory(name="Arch Ive", status=Contact.Status.ARCHIVED)
    services.unsubscribe(contact=archived, channel=Channel.CALLS, by_user=staff_user)
    assert reach_of(Channel.SMS) == {
        "consent": 0, "no_consent": 1, "do_not_contact": 1, "archived": 1, "soft": 0, "hard": 0
    }  # fmt: skip
    assert reach_of(Channel.CALLS) == {
        "consent": 0, "no_consent": 1, "do_not_contact": 1, "archived": 0, "soft": 1, "hard": 0
    }  # fmt: skip
    client.force_login(staff_user)
    groups = {group.key: group.url for group in insights.reach()[1][Channel.SMS]}
    listed = {
        key: re.findall(r'<a href="/contacts/\d+/">([^<]+)</a>', client.get(url).content.decode())
        for key, url in groups.items()
    }
    assert listed["no_consent"] == ["Ann Active"]
    assert listed["do_not_contact"] == ["Dan Dnc"]
    assert listed["archived"] == ["Arch Ive"]


def test_reach_is_counted_when_never_counted_and_shown_as_last_counted(client, staff_user):
    ContactFactory()
    client.force_login(staff_user)
    page = client.get(PAGE).content.decode()  # never counted: counted now
    assert re.search(r'<td class="number">1</td>\s*<td class="number">100.0%</td>', page)
    counted_at = insights.reach()[0]
    ContactFactory()  # not counted yet: the page says when it counted
    page = client.get(PAGE).content.decode()
    assert (
        f"Counted {formats.date_format(timezone.localtime(counted_at), 'DATETIME_FORMAT')}" in page
    )
    assert reach_of(Channel.SMS)["no_consent"] == 2  # as the worker counts again


def test_the_reach_links_list_exactly_their_groups(client, staff_user):
    soft, hard = ContactFactory(name="Soft Sam"), ContactFactory(name="Hard Hal")
    ContactFactory(name="Other Ola")
    services.unsubscribe(contact=soft, channel=Channel.CALLS, by_user=staff_user)
    services.record_hard_opt_out(phone=hard.phone, channel=Channel.CALLS, source=Source.DIGIT)
    client.force_login(staff_user)
    groups = {group.key: group.url for group in insights.reach()[1][Channel.CALLS]}
    assert "Soft Sam" in (page := client.get(groups["soft"]).content.decode())
    assert "Hard Hal" not in page and "Other Ola" not in page
    assert "Hard Hal" in (page := client.get(groups["hard"]).content.decode())
    assert "Soft Sam" not in page and "Other Ola" not in page
    assert "Other Ola" in (page := client.get(groups["no_consent"]).content.decode())
    assert "Soft Sam" not in page and "Hard Hal" not in page


# --- Opt-outs over time, counted by the database ---------------------------------------------


def test_each_opt_out_is_counted_once_by_where_it_came_from(staff_user):
    shared = "+14155550100"
    ContactFactory(phone=shared), ContactFactory(phone=shared)  # the STOP's copies: not counted
    staffed = ContactFactory()
    services.record_hard_opt_out(phone=shared, channel=Channel.SMS, source=Source.KEYWORD)
    services.record_hard_opt_out(phone=shared, channel=Channel.SMS, source=Source.KEYWORD)  # again
    services.record_hard_opt_out(phone="+14155550101", channel=Channel.CALLS, source=Source.DIGIT)
    services.record_hard_opt_out(phone="+14155550102", channel=Channel.SMS, source=Source.CARRIER)
    services.record_hard_opt_out(
        phone="+14155550103", channel=Channel.SMS, source=Source.KEYWORD,
        matched="confirmed in review by ana, reviewed for “please stop”",
    )  # fmt: skip
    services.record_revocation(
        phone="+14155550104", channel=Channel.SMS, source=Source.TOLD, words="stop texting me",
        matched="told ana by phone",
    )  # fmt: skip
    services.unsubscribe(contact=staffed, channel=Channel.SMS, by_user=staff_user)
    services.resubscribe(contact=staffed, channel=Channel.SMS, by_user=staff_user)  # not counted

    day = today_counts()
    assert day.opt_outs == {"stop": 1, "digit": 1, "review": 1, "carrier": 1, "page": 0,
                            "told": 1, "staff": 1, "import": 0}  # fmt: skip
    assert day.resubscribed == 0
    hours = LedgerCount.objects.filter(after=OptInStatus.SUBSCRIBED)
    assert list(hours.values_list("source", "changes")) == [(Source.USER, 1)]


def test_a_bulk_action_is_counted_contact_by_contact(staff_user):
    contacts = [ContactFactory() for _ in range(7)]
    services.unsubscribe_many(contacts=[c.pk for c in contacts], channel=Channel.CALLS,
                              by_user=staff_user)  # fmt: skip
    assert today_counts().opt_outs["staff"] == 7
    services.resubscribe_many(contacts=[c.pk for c in contacts[:3]], channel=Channel.CALLS,
                              by_user=staff_user)  # fmt: skip
    resubscribed = LedgerCount.objects.filter(after=OptInStatus.SUBSCRIBED)
    assert {source for (source,) in resubscribed.values_list("source")} == {Source.USER}
    assert resubscribed.aggregate(n=Sum("changes"))["n"] == 3


def sms(phone: str, body: str) -> None:
    """An SMS from `phone`, as its webhook stores and processes it."""
    sid = f"SM{uuid.uuid4().hex}"
    payload = {"MessageSid": sid, "From": phone, "Body": body}
    InboundEvent.store(key=f"sms:{sid}", kind="sms", payload=payload, phone=phone)
    inbound.process(f"sms:{sid}")


def test_a_stop_and_a_start_of_a_number_with_three_contacts_count_once_each():
    shared = "+14155550100"
    for _ in range(3):
        ContactFactory(phone=shared)
    sms(shared, "STOP")
    assert today_counts().opt_outs["stop"] == 1
    sms(shared, "START")
    assert today_counts().resubscribed == 1


def test_counts_are_kept_by_the_quarter_hour_and_folded_by_kind():
    before = timezone.now()
    for n in range(3):
        services.record_hard_opt_out(phone=f"+1415555010{n}", channel=Channel.SMS,
                                     source=Source.KEYWORD)  # fmt: skip
    (period,) = {count.period for count in LedgerCount.objects.all()}
    assert period.minute % 15 == 0 and (period.second, period.microsecond) == (0, 0)
    assert before - timedelta(minutes=15) < period <= timezone.now()
    assert LedgerCount.objects.count() == 3  # a row a change, none updated
    assert LedgerCount.fold() == 2
    (folded,) = LedgerCount.objects.all()
    assert (folded.period, folded.changes) == (period, 3)
    assert LedgerCount.fold() == 0
    assert today_counts().opt_outs["stop"] == 3


def test_days_start_at_the_site_s_midnight_in_a_half_hour_zone(settings):
    settings.TIME_ZONE = "America/St_Johns"  # UTC-03:30 in December
    timezone.deactivate()
    for minute, changes in [(15, 1), (30, 2)]:  # 23:45 on 1 Dec, 00:00 on 2 Dec there
        LedgerCount.objects.create(
            period=datetime(2026, 12, 2, 3, minute, tzinfo=UTC), channel=Channel.SMS,
            source=Source.KEYWORD, after=OptInStatus.HARD, reviewed=False, changes=changes,
        )  # fmt: skip
    days = insights.opt_outs_by_day(date(2026, 12, 1), date(2026, 12, 2))
    assert [day.opt_outs["stop"] for day in days] == [1, 2]


def test_a_chart_of_more_than_a_year_names_each_day_s_year():
    days = insights.opt_outs_by_day(date(2024, 1, 1), date(2025, 12, 31))
    svg = charts.opt_outs(days)
    assert ">1 Jan 2024<" in svg and ">" + f"{days[7 * 60].day:%-d %b %Y}" + "<" in svg


def test_days_are_the_site_s_days(settings):
    settings.TIME_ZONE = "America/New_York"
    timezone.deactivate()
    # 03:00 UTC on 2 Dec is 22:00 on 1 Dec in New York.
    for period, changes in [(datetime(2026, 12, 2, 3, tzinfo=UTC), 2),
                            (datetime(2026, 12, 2, 5, tzinfo=UTC), 3)]:  # fmt: skip
        LedgerCount.objects.create(
            period=period, channel=Channel.SMS, source=Source.KEYWORD, after=OptInStatus.HARD,
            reviewed=False, changes=changes,
        )  # fmt: skip
    LedgerCount.objects.create(period=datetime(2026, 12, 2, 6, tzinfo=UTC), channel=Channel.SMS,
                              source=Source.KEYWORD, after=OptInStatus.SUBSCRIBED,
                              reviewed=False, changes=4)  # fmt: skip
    days = insights.opt_outs_by_day(date(2026, 12, 1), date(2026, 12, 3))
    assert [(d.day.day, d.opt_outs["stop"], d.resubscribed) for d in days] == [
        (1, 2, 0),
        (2, 3, 4),
        (3, 0, 0),
    ]


def test_the_page_charts_the_range_chosen_with_its_numbers(client, staff_user):
    LedgerCount.objects.create(period=datetime(2026, 11, 3, 15, tzinfo=UTC), channel=Channel.SMS,
                              source=Source.DIGIT, after=OptInStatus.HARD, reviewed=False,
                              changes=5)  # fmt: skip
    client.force_login(staff_user)
    page = client.get(PAGE, {"first": "2026-11-01", "last": "2026-11-30"}).content.decode()
    assert "<svg" in page and "Opt-outs a day by source, and the contacts&#x27; re" in page
    assert "1 Nov 2026 to 30 Nov 2026" in page
    assert 'value="2026-11-01"' in page and 'value="2026-11-30"' in page  # as date inputs read
    row = re.search(r"<tr><th scope=\"row\" class=\"nowrap\">3 Nov 2026</th>(.*?)</tr>", page)
    assert re.findall(r">(\d+)<", row.group(1)) == ["0", "5", "0", "0", "0", "0", "0", "0", "0"]

    response = client.get(reverse("broadcasts:insights_csv", args=["opt-outs"]),
                          {"first": "2026-11-01", "last": "2026-11-30"})  # fmt: skip
    rows = csv_rows(response)
    assert rows[0][:3] == ["day", "STOP reply", "Unsubscribe digit"]
    assert len(rows) == 31
    assert rows[3] == ["2026-11-03", "0", "5", "0", "0", "0", "0", "0", "0", "0"]


@pytest.mark.parametrize(
    "query, error",
    [
        ({"first": "2026-11-30", "last": "2026-11-01"}, "“From” must not be after “To”."),
        ({"first": "2020-01-01", "last": "2026-11-01"}, "Choose at most three years at a time."),
        ({"first": "yesterday"}, "Enter a valid date."),
        ({"first": "9999-99-99"}, "Enter a valid date."),
        ({"last": "0001-01-01"}, "Choose days from 1 Jan 2000 to a year from today."),
        ({"first": "9999-12-31", "last": "9999-12-31"}, "Choose days from 1 Jan 2000"),
        ({"first": "0001-01-01", "last": "0001-01-02"}, "Choose days from 1 Jan 2000"),
    ],
)
def test_a_range_that_cannot_be_charted_says_why_and_shows_the_last_90_days(
    client, staff_user, query, error
):
    client.force_login(staff_user)
    response = client.get(PAGE, query)
    page = response.content.decode()
    assert response.status_code == 200
    assert error in page.replace("&ldquo;", "“").replace("&rdquo;", "”")
    today = timezone.localdate()
    assert f"{today - timedelta(days=89):%-d %b %Y} to {today:%-d %b %Y}" in page
    assert (
        client.get(reverse("broadcasts:insights_csv", args=["opt-outs"]), query).status_code == 200
    )


# --- Broadcasts and the opt-outs that followed them -------------------------------------------


def reached(b: Broadcast, phone: str, hours_ago: float, status=Recipient.Status.DELIVERED):
    Recipient.objects.create(broadcast=b, phone=phone, status=status,
                             sent_at=timezone.now() - timedelta(hours=hours_ago))  # fmt: skip


def launched(name: str, channel=Channel.SMS, hours_ago: float = 60) -> Broadcast:
    return broadcast(channel, name=name, status=Broadcast.Status.DONE,
                     launched_at=timezone.now() - timedelta(hours=hours_ago))  # fmt: skip


def test_an_opt_out_counts_against_the_latest_broadcast_in_the_48_hours_before_it(
    client, staff_user, settings
):
    settings.OPT_OUT_RATE_FLAG_PERCENT = 2
    first, second = launched("Spring sale", hours_ago=60), launched("Summer sale", hours_ago=30)
    voice = launched("Reminder call", Channel.CALLS, hours_ago=20)
    for n in range(10):
        reached(first, f"+1415555{n:04d}", hours_ago=40)
    for n in range(5):  # the first five numbers again, and five of its own
        reached(second, f"+1415555{n:04d}", hours_ago=10)
    for n in range(5, 10):
        reached(second, f"+1415556{n:04d}", hours_ago=10)
    reached(second, "+14155569999", hours_ago=10, status=Recipient.Status.FAILED)
    reached(voice, "+14155570000", hours_ago=5)
    reached(voice, "+14155550009", hours_ago=5)

    stop = {"channel": Channel.SMS, "source": Source.KEYWORD}
    services.record_hard_opt_out(phone="+14155550001", **stop)  # both reached it: the second
    services.record_hard_opt_out(phone="+14155550008", **stop)  # only the first, 40 hours ago
    services.record_hard_opt_out(phone="+14155560007", **stop)  # the second's own
    services.record_hard_opt_out(phone="+14155550009", channel=Channel.CALLS,
                                 source=Source.DIGIT)  # fmt: skip  # the voice broadcast
    services.record_hard_opt_out(phone="+14155570000", **stop)  # a text never reached it
    old = launched("Old news", hours_ago=100)
    reached(old, "+14155580000", hours_ago=50)
    services.record_hard_opt_out(phone="+14155580000", **stop)  # 50 hours: too late

    since = timezone.now() - timedelta(days=10)
    outcomes = {o.broadcast.name: o for o in insights.broadcast_outcomes(since, timezone.now())}
    assert {name: (o.sent, o.delivered, o.failed, o.opt_outs) for name, o in outcomes.items()} == {
        "Spring sale": (10, 10, 0, 1),
        "Summer sale": (11, 10, 1, 2),
        "Reminder call": (2, 2, 0, 1),
        "Old news": (1, 1, 0, 0),
    }
    assert outcomes["Spring sale"].rate_shown == "10.0%"
    assert outcomes["Reminder call"].rate_shown == "50.0%"  # of the calls placed
    assert outcomes["Spring sale"].flagged and not outcomes["Old news"].flagged

    client.force_login(staff_user)
    page = client.get(PAGE).content.decode()
    assert 'aria-label="Opt-out rate of each broadcast"' in page
    assert re.search(
        r'<tr class="flagged">\s*<th scope="row"><a href="/broadcasts/\d+/">Spring sale', page
    )
    assert "above 2 %" in page

    rows = csv_rows(client.get(reverse("broadcasts:insights_csv", args=["broadcasts"])))
    assert rows[0][-2:] == ["opt-outs", "opt-out rate (%)"]
    summer = next(row for row in rows if row[0] == "Summer sale")
    assert summer[4:] == ["11", "10", "1", "2", "20.00"]

    # The broadcast's own page lists its opt-outs.
    assert followed(client, first) == ["(415) 555-0008"]
    assert followed(client, second) == ["(415) 556-0007", "(415) 555-0001"]  # newest first


def followed(client, b: Broadcast) -> list[str]:
    """The numbers the broadcast's page lists as opting out after it."""
    page = client.get(reverse("broadcasts:detail", args=[b.pk])).content.decode()
    section = re.search(r'<section class="card opt-outs-after">(.*?)</section>', page, re.S)
    numbers = re.findall(r'<td class="nowrap">(\(\d{3}\) \d{3}-\d{4})</td>', section.group(1))
    assert f"Opt-outs that followed it: {len(numbers)}</h2>" in section.group(1)
    return numbers


def test_outcomes_are_counted_again_while_they_may_change(client, staff_user):
    sending = launched("Sending", hours_ago=1)
    finished = launched("Finished lately", hours_ago=30)
    settled = launched("Finished long ago", hours_ago=24 * 5)
    for b in (sending, finished, settled):
        reached(b, "+14155550000", hours_ago=0.5, status=Recipient.Status.SENT)
    Broadcast.objects.filter(pk=finished.pk).update(finished_at=timezone.now() - timedelta(days=1))
    Broadcast.objects.filter(pk=settled.pk).update(finished_at=timezone.now() - timedelta(days=4))
    since, until = timezone.now() - timedelta(days=10), timezone.now()
    assert [o.delivered for o in insights.broadcast_outcomes(since, until)] == [0, 0, 0]
    Recipient.objects.update(status=Recipient.Status.DELIVERED)  # statuses that came later
    assert [o.delivered for o in insights.broadcast_outcomes(since, until)] == [0, 0, 0]
    assert insights.count_outcomes() == 2  # the one settled two days after it finished: not
    delivered = {o.broadcast.name: o.delivered for o in insights.broadcast_outcomes(since, until)}
    assert delivered == {"Sending": 1, "Finished lately": 1, "Finished long ago": 0}


def test_a_broadcast_name_cannot_run_as_a_formula_or_a_script(client, staff_user):
    b = launched('=HYPERLINK("http://evil")<script>alert(1)</script>', hours_ago=2)
    reached(b, "+14155550000", hours_ago=1)
    client.force_login(staff_user)
    page = client.get(PAGE).content.decode()
    assert "<script>alert(1)" not in page
    rows = csv_rows(client.get(reverse("broadcasts:insights_csv", args=["broadcasts"])))
    assert rows[1][0].startswith("'=HYPERLINK")


# --- Waiting for a decision, the CSV of reach, and who may see it ---------------------------


def test_the_reviews_waiting_are_counted_with_the_oldest_s_age(client, staff_user):
    PossibleOptOut.objects.create(phone="+14155550000", words="no more",
                                  received_at=timezone.now() - timedelta(days=9))  # fmt: skip
    PossibleOptOut.objects.create(phone="+14155550001", words="leave me alone")
    PossibleOptOut.objects.create(phone="+14155550002", words="ok",
                                  decision=PossibleOptOut.Decision.DISMISSED)  # fmt: skip
    assert insights.waiting().count == 2
    client.force_login(staff_user)
    page = client.get(PAGE).content.decode()
    assert re.search(r"<strong>2</strong> possible opt-outs</a> to review", page)
    assert re.search(r"\(\d business days ago\)", page)


def test_reach_downloads_as_csv(client, staff_user):
    ContactFactory()
    client.force_login(staff_user)
    rows = csv_rows(client.get(reverse("broadcasts:insights_csv", args=["reach"])))
    assert rows[0] == ["channel", "group", "contacts", "counted at"]
    assert rows[2][:3] == ["SMS", "Subscribed, no consent on record", "1"]
    assert len(rows) == 1 + 2 * 6  # the header, and six groups a channel


def test_an_unknown_chart_is_not_found(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/broadcasts/insights/nothing.csv").status_code == 404


def test_every_role_sees_it_and_nobody_else(client):
    assert client.get(PAGE).status_code == 302  # to the login page
    for role in ("Staff", "Admin", "Manager"):
        client.force_login(UserFactory(username=role.lower(), role=role))
        assert client.get(PAGE).status_code == 200
    client.force_login(UserFactory(username="nobody"))
    assert client.get(PAGE).status_code == 403
    assert client.get(reverse("broadcasts:insights_csv", args=["reach"])).status_code == 403


# --- Counted as they happen, however many at once --------------------------------------------

STOPS_AT_ONCE = """
import threading
from datetime import timedelta

import django

django.setup()
from django.db import connection
from django.utils import timezone
from broadcasts.models import Broadcast, OptOutAfter, Recipient
from contacts import services
from contacts.models import Channel, LedgerCount, OptInStatus, PhoneOptOut, Source

numbers = [f"+1415555{n:04d}" for n in range(16)]
sent = Broadcast.objects.create(name="Sent", channel="sms", body="Hi", status="done",
                                launched_at=timezone.now() - timedelta(hours=2))
for number in numbers:
    services.create_contact(name=number, phone=number)
    Recipient.objects.create(broadcast=sent, phone=number, status="delivered",
                             sent_at=timezone.now() - timedelta(hours=1))
bulk = [services.create_contact(name=f"B{n}", phone=f"+1415666{n:04d}").pk for n in range(2000)]
barrier, errors = threading.Barrier(len(numbers) + 1), []


def run(action):
    try:
        barrier.wait()
        action()
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()


actions = [lambda number=number: services.record_hard_opt_out(
    phone=number, channel=Channel.SMS, source=Source.KEYWORD) for number in numbers]
actions.append(lambda: services.unsubscribe_many(contacts=bulk, channel=Channel.SMS,
                                                 by_user=None))
threads = [threading.Thread(target=run, args=(action,)) for action in actions]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(120)
counted = dict(LedgerCount.objects.filter(after__in=["soft", "hard"]).values_list("source")
               .annotate(n=django.db.models.Sum("changes")).values_list("source", "n"))
print(errors, PhoneOptOut.objects.count(), counted,
      OptOutAfter.objects.filter(broadcast=sent).count())
"""


@pytest.mark.postgres
def test_stops_and_a_bulk_action_at_once_are_all_recorded_and_counted(request):
    assert run(STOPS_AT_ONCE, request.getfixturevalue("migrated")).split() == [
        "[]",
        "16",
        "{'keyword':",
        "16,",
        "'user':",
        "2000}",
        "16",
    ]


# Two revocations of every channel at once, from different numbers: one names calls first
# (a text asking to stop calls), the other SMS first (a plain STOP). Each writes its first
# channel, waits for the other to have written its own, then writes the second: counting
# them must not make either wait for the other.
REVOCATIONS_CROSSING = """
import threading

import django

django.setup()
from django.conf import settings
from django.db import connection
from contacts import services
from contacts.models import Channel, PhoneOptOut, Source

settings.OPT_OUT_SCOPE = "all"
recorded = services.record_hard_opt_out
barrier, written = threading.Barrier(2, timeout=20), threading.local()


def paced(**kwargs):
    recorded(**kwargs)
    if not getattr(written, "first", False):
        written.first = True
        barrier.wait()


services.record_hard_opt_out = paced
errors = []


def revoke(phone, channel):
    try:
        services.record_revocation(phone=phone, channel=channel, source=Source.KEYWORD)
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()


threads = [threading.Thread(target=revoke, args=("+14155550100", Channel.CALLS)),
           threading.Thread(target=revoke, args=("+14155550101", Channel.SMS))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
print(errors, PhoneOptOut.objects.count())
"""


@pytest.mark.postgres
def test_two_revocations_of_every_channel_crossing_both_commit(request):
    assert run(REVOCATIONS_CROSSING, request.getfixturevalue("migrated")).split() == ["[]", "4"]
