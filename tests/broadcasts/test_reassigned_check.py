"""An Admin checks selected contacts' numbers against the reassigned numbers database, through
the provider: a number disconnected since its holder was last known to have it is reported
reassigned (its consent void, broadcasts leave it out); "no" and "no data" change nothing."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcasts import services
from broadcasts.policy import REASSIGNED
from contacts import services as contact_services
from contacts.models import Channel, ConsentMethod, ConsentRecord, ReassignedNumber
from messaging.backends import NO, NO_DATA, YES, LocmemBackend, LookupFailed
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory, UserFactory
from tests.twilio_standin import StandIn, twilio  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

URL = reverse("contacts:bulk")
BACK = reverse("contacts:list")


@pytest.fixture
def database():
    """What the locmem backend answers, by number."""
    LocmemBackend.reassigned = {}
    yield LocmemBackend.reassigned
    LocmemBackend.reassigned = {}


def check(client, contacts, **data):
    chosen = [contact.pk for contact in contacts]
    form = {"action": "check_reassigned", "scope": "selected", "contacts": chosen, "next": BACK}
    return client.post(URL, form | data, follow=True)


def said(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_an_admin_checks_a_selection_and_a_reassigned_number_is_reported(
    admin_client, admin_role_user, database
):
    gone, kept, unknown = ContactFactory.create_batch(3)
    contact_services.record_consent(
        phone=gone.phone, channel=Channel.SMS, method=ConsentMethod.PAPER,
        given_at=datetime(2025, 3, 1, 12, tzinfo=UTC),
    )  # fmt: skip
    database.update({gone.phone: YES, kept.phone: NO})
    response = check(admin_client, [gone, kept, unknown])
    assert said(response) == (
        "Reassigned numbers check of 3 numbers: 1 disconnected since their consent (reported "
        "reassigned: their consent is void, and broadcasts leave them out); 1 not; 1 with no "
        "data."
    )
    report = ReassignedNumber.objects.get()
    assert (report.phone, report.how, report.by_user) == (gone.phone, "check", admin_role_user)
    assert report.words == "disconnected since 1 Mar 2025, the reassigned numbers database answered"
    record = ConsentRecord.objects.get()
    assert record.status == "void" and record.void_reason.startswith("number reassigned: ")
    assert services.preview(broadcast()).excluded[REASSIGNED.label] == 1

    again = check(admin_client, [gone])  # not asked again while nothing changed
    assert "0 numbers" in said(again) and "1 already reported reassigned" in said(again)
    assert ReassignedNumber.objects.count() == 1


def test_only_admins_check_and_at_most_the_limit(client, admin_role_user, settings, database):
    contacts = ContactFactory.create_batch(3)
    database.update({contact.phone: YES for contact in contacts})
    for role in ("Staff", "Manager"):
        client.force_login(UserFactory(role=role))
        assert check(client, contacts).status_code == 403
    client.force_login(admin_role_user)
    settings.REASSIGNED_CHECK_LIMIT = 2
    response = check(client, contacts)
    assert "These contacts have more than 2 numbers; a check asks about 2 at most" in said(response)
    assert not ReassignedNumber.objects.exists()


def test_the_twilio_backend_asks_lookup_since_the_day_given(twilio):  # noqa: F811
    StandIn.answers = ["reassigned", "not_reassigned", "no_data", "lookup_error", "not_found"]
    since = datetime(2025, 3, 1).date()
    answers = [twilio.reassigned_since("+14155550123", since) for _ in range(3)]
    assert answers == [YES, NO, NO_DATA]
    for _ in range(2):
        with pytest.raises(LookupFailed):
            twilio.reassigned_since("+14155550123", since)
    path, query = StandIn.requests[0]
    assert path == "/v2/PhoneNumbers/+14155550123"
    assert query == {"Fields": ["reassigned_number"], "LastVerifiedDate": ["20250301"]}


def test_through_twilio_a_failed_answer_reports_nothing(admin_client, twilio):  # noqa: F811
    first, second = ContactFactory.create_batch(2)
    StandIn.answers = ["lookup_error", "reassigned"]
    response = check(admin_client, [first, second])
    assert "1 disconnected since their consent" in said(response)
    assert "1 not answered (try them again later)" in said(response)
    assert ReassignedNumber.objects.count() == 1
    added = timezone.localdate(first.created_at)  # no consent on record: the day it was added
    assert StandIn.requests[0][1]["LastVerifiedDate"] == [added.strftime("%Y%m%d")]
