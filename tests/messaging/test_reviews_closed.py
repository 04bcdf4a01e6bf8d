"""A possible opt-out waiting for review is closed once the number opts itself out of what
confirming it would stop (a STOP, the digit, another review confirmed); not before."""

import pytest

from contacts.models import Channel
from messaging.models import PossibleOptOut

pytestmark = pytest.mark.django_db

PHONE = "+14155550123"


def test_a_stop_closes_the_texts_reviews_and_leaves_one_about_calls(
    sms, client, staff_user, django_capture_on_commit_callbacks
):
    sms("Ok cancel", phone=PHONE)
    sms("stop calling me lol", phone=PHONE)
    assert PossibleOptOut.objects.filter(decision="pending").count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        sms("STOP", phone=PHONE)
    decisions = dict(PossibleOptOut.objects.values_list("words", "decision"))
    assert decisions == {"Ok cancel": "opted_out", "stop calling me lol": "pending"}
    client.force_login(staff_user)
    page = client.get("/messaging/possible-opt-outs/").content.decode()
    assert "Closed: the number opted out itself since" in page


def test_confirming_one_review_closes_another_it_answers(
    sms, client, staff_user, django_capture_on_commit_callbacks
):
    sms("Ok cancel", phone=PHONE)
    sms("cancel pls", phone=PHONE)
    first, second = PossibleOptOut.objects.order_by("pk")
    assert set(first.stops) == set(second.stops) == {Channel.SMS}
    client.force_login(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/messaging/possible-opt-outs/{first.pk}/", {"decision": "confirmed", "sure": "yes"}
        )
    decisions = list(PossibleOptOut.objects.order_by("pk").values_list("decision", flat=True))
    assert decisions == ["confirmed", "opted_out"]


def test_a_review_from_a_number_opted_out_of_what_it_would_stop_is_closed(
    sms, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sms("STOP", phone=PHONE)
        sms("Ok cancel", phone=PHONE)
        sms("stop calling me lol", phone=PHONE)  # calls too: still to decide
    decisions = dict(PossibleOptOut.objects.values_list("words", "decision"))
    assert decisions == {"Ok cancel": "opted_out", "stop calling me lol": "pending"}
