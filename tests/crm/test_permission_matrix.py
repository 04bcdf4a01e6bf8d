"""Every URL and every POST action, for anonymous visitors and each role: allowed or denied.

A denied request gets the login page (anonymous) or 403, and changes nothing. The webhooks
are the only views without CSRF protection, and they refuse unsigned requests.
"""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from broadcasts.models import Broadcast
from contacts import services, subscriptions
from contacts.models import (
    BulkJob,
    Channel,
    ConsentEvent,
    ConsentRecord,
    Contact,
    ContactImport,
    ContactTablePreference,
    Disclosure,
    ExportPiece,
    OptOut,
    Tag,
)
from crm.roles import ADMIN, MANAGER, STAFF
from messaging.models import InboundEvent, PossibleOptOut, ReplyPhrase
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "staff", "admin", "manager", "superuser"]
VIEW = {"staff", "admin", "manager", "superuser"}
EDIT = {"admin", "superuser"}
SEND = {"manager", "superuser"}
EXPORT = {"admin", "manager", "superuser"}
NOBODY: set[str] = set()

BROADCAST = {"name": "Forged", "channel": "sms", "body": "Hello", "unsubscribe_digit": "9"}
CONSENT = {"channels": ["sms"], "method": "paper", "given_on": "2026-12-01"}

# (URL name, what its id is of, method, data, who may)
CASES = [
    ("home", None, "GET", {}, VIEW),
    ("contacts:list", None, "GET", {}, VIEW),
    ("contacts:count", None, "GET", {}, VIEW),
    ("contacts:detail", "contact", "GET", {}, VIEW),
    ("contacts:detail", "contact", "POST", {"name": "Forged", "phone": "+14155550199"}, EDIT),
    ("contacts:new", None, "GET", {}, EDIT),
    (
        "contacts:new",
        None,
        "POST",
        {"name": "Forged", "phone": "+14155550199", "status": "active"},
        EDIT,
    ),  # fmt: skip
    ("contacts:delete", "contact", "GET", {}, EDIT),
    ("contacts:delete", "contact", "POST", {}, EDIT),
    ("contacts:columns", None, "POST", {"show": ["name"]}, VIEW),
    (
        "contacts:subscription",
        "contact",
        "POST",
        {"channel": "sms", "action": "unsubscribe"},
        EDIT,
    ),  # fmt: skip
    (
        "contacts:bulk",
        None,
        "POST",
        {"action": "unsubscribe_sms", "scope": "all", "confirmed": "1", "query": ""},
        EDIT,
    ),  # fmt: skip
    ("contacts:bulk", None, "POST", {"action": "export", "scope": "all", "query": ""}, EXPORT),
    *[
        (
            "contacts:bulk",
            None,
            "POST",
            {"action": action, "scope": "all", "query": "", "confirmed": "1", "tag": "tag"},
            EDIT,
        )
        for action in [
            "unsubscribe_calls",
            "resubscribe_sms",
            "resubscribe_calls",
            "add_tag",
            "remove_tag",
        ]
    ],
    (
        "contacts:subscription",
        "contact",
        "POST",
        {"channel": "calls", "action": "resubscribe"},
        EDIT,
    ),
    ("messaging:decide", "possible", "POST", {"decision": "dismissed"}, VIEW),
    ("contacts:evidence", "contact", "GET", {}, VIEW),
    # The contact's own page: its signed link is the key (tests/contacts/test_subscriptions.py).
    ("subscriptions:page", "link", "GET", {}, set(ROLES)),
    # Signed in, a user of the app would save it as the contact's own doing: refused.
    ("subscriptions:page", "link", "POST", {"keep": ["sms", "calls"]}, {"anonymous"}),
    ("contacts:request_to_stop", "contact", "GET", {}, VIEW),
    (
        "contacts:request_to_stop",
        "contact",
        "POST",
        {"channels": ["sms"], "how": "by phone", "words": "stop texting me"},
        VIEW,
    ),
    ("contacts:consent", "contact", "GET", {}, EDIT),
    ("contacts:consent", "contact", "POST", CONSENT, EDIT),
    ("contacts:disclosures", None, "GET", {}, VIEW),
    ("contacts:disclosure", "disclosure", "GET", {}, VIEW),
    ("contacts:disclosure_new", None, "GET", {}, EDIT),
    ("contacts:disclosure_new", None, "POST", {"title": "Forged", "text": "Yes"}, EDIT),
    ("contacts:disclosure_edit", "disclosure", "GET", {}, EDIT),
    ("contacts:disclosure_edit", "disclosure", "POST", {"text": "Forged words"}, EDIT),
    ("contacts:bulk_job", "bulk_job", "GET", {}, EDIT),  # nobody's own: Admins' only
    ("contacts:export_file", "export", "GET", {}, EDIT),  # the same, and for exporters
    ("contacts:import", None, "GET", {}, EDIT),
    ("contacts:import", None, "POST", {}, EDIT),
    ("contacts:import_detail", "import", "GET", {}, EDIT),
    ("contacts:import_apply", "import", "POST", {}, EDIT),
    ("contacts:import_columns", "import", "GET", {}, EDIT),
    ("contacts:import_columns", "import", "POST", {"column_0": "name", "column_1": "phone"}, EDIT),
    ("broadcasts:list", None, "GET", {}, VIEW),
    ("broadcasts:insights", None, "GET", {}, VIEW),
    ("broadcasts:insights_csv", "chart", "GET", {}, VIEW),
    ("broadcasts:new", None, "GET", {}, SEND),
    ("broadcasts:new", None, "POST", BROADCAST, SEND),
    ("broadcasts:detail", "broadcast", "GET", {}, VIEW),
    ("broadcasts:progress", "broadcast", "GET", {}, VIEW),
    ("broadcasts:recipients", "broadcast", "GET", {}, VIEW),
    ("broadcasts:test", "broadcast", "POST", {"phone": "+14155550199"}, SEND),
    ("broadcasts:edit", "broadcast", "GET", {}, SEND),
    ("broadcasts:edit", "broadcast", "POST", BROADCAST, SEND),
    ("broadcasts:launch", "broadcast", "GET", {}, SEND),
    ("broadcasts:launch", "broadcast", "POST", {}, SEND),
    ("broadcasts:cancel", "broadcast", "GET", {}, SEND),
    ("broadcasts:cancel", "broadcast", "POST", {}, SEND),
    ("broadcasts:delete", "broadcast", "GET", {}, SEND),
    ("broadcasts:delete", "broadcast", "POST", {}, SEND),
    ("broadcasts:unschedule", "broadcast", "POST", {}, SEND),
    ("messaging:possible_opt_outs", None, "GET", {}, VIEW),
    ("messaging:decide", "possible", "POST", {"decision": "confirmed", "sure": "yes"}, VIEW),
    ("messaging:reopen", "possible", "POST", {}, VIEW),
    ("messaging:outbox", None, "GET", {}, VIEW),
    ("messaging:reply_phrases", None, "GET", {}, VIEW),
    ("messaging:reply_phrases", None, "POST", {"words": "pls no", "meaning": "opt_out"}, EDIT),
    ("messaging:delete_reply_phrase", "phrase", "POST", {}, EDIT),
    ("messaging:reply_phrase", "phrase", "GET", {}, VIEW),
    ("messaging:review_again", "phrase_reply", "POST", {}, VIEW),
    (
        "messaging:decide",
        "possible",
        "POST",
        {"decision": "dismissed", "keep_wording": "yes"},
        EDIT,
    ),
    ("admin:index", None, "GET", {}, {"superuser"}),
    ("admin:contacts_contact_changelist", None, "GET", {}, {"superuser"}),
    ("password_change", None, "GET", {}, VIEW),
    # Webhooks: no session opens them; only a valid signature does (tests/messaging).
    ("messaging:sms", None, "POST", {"From": "+14155550101", "Body": "START"}, NOBODY),
    ("messaging:status", None, "POST", {"MessageSid": "SM1", "MessageStatus": "failed"}, NOBODY),
    ("messaging:voice", None, "POST", {"CallSid": "CA1", "From": "+14155550101"}, NOBODY),
    (
        "messaging:voice_gather",
        None,
        "POST",
        {"CallSid": "CA1", "From": "+14155550101", "Digits": "9"},
        NOBODY,
    ),  # fmt: skip
]


@pytest.fixture
def objects():
    contact = ContactFactory(name="Ana", phone="+14155550101")
    broadcast = Broadcast.objects.create(name="Draft", channel="sms", body="Hi")
    possible = PossibleOptOut.objects.create(phone=contact.phone, words="please no more")
    phrase = ReplyPhrase.objects.create(wording="nah", example="Nah", meaning="ordinary")
    passed = InboundEvent.objects.create(kind="sms", key="sms:SMnah", phone=contact.phone,
                                         payload={"Body": "Nah"}, phrase=phrase)  # fmt: skip
    job = BulkJob.objects.create(action="unsubscribe_sms", count=20_000)
    export = BulkJob.objects.create(action="export", count=1, status="done",
                                    finished_at=timezone.now())  # fmt: skip
    ExportPiece.objects.create(job=export, seq=0, data=b"name,phone\n")
    contact_import = ContactImport.objects.create(file_name="x.csv", size=10, status="ready")
    disclosure = Disclosure.objects.create(title="Sign-up form", text="I agree to texts.")
    tag = Tag.objects.create(name="VIP")
    contact.tags.add(tag)
    services.unsubscribe(contact=contact, channel=Channel.CALLS, by_user=None)
    return {"contact": contact.pk, "broadcast": broadcast.pk, "possible": possible.pk,
            "bulk_job": job.pk, "tag": tag.pk, "import": contact_import.pk,
            "export": export.pk, "phrase": phrase.pk, "phrase_reply": [phrase.pk, passed.pk],
            "disclosure": disclosure.pk, "chart": "opt-outs",
            "link": signing.dumps(contact.phone, salt=subscriptions.SALT)}  # fmt: skip


def _args(objects: dict, of: str | None) -> list:
    if not of:
        return []
    return objects[of] if isinstance(objects[of], list) else [objects[of]]


def client_for(role: str, **kwargs) -> Client:
    client = Client(**kwargs)
    if role == "superuser":
        client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    elif role != "anonymous":
        group = {"staff": STAFF, "admin": ADMIN, "manager": MANAGER}[role]
        client.force_login(UserFactory(username=f"{role}-user", role=group))
    return client


def state() -> tuple:
    """What a forged request must not change."""
    return (
        list(Contact.objects.order_by("pk").values_list("name", "phone", "status")),
        list(Contact.tags.through.objects.order_by("pk").values_list("contact_id", "tag_id")),
        list(OptOut.objects.order_by("pk").values_list("contact_id", "channel", "kind")),
        ConsentEvent.objects.count(),
        list(Broadcast.objects.order_by("pk").values_list("name", "status")),
        list(PossibleOptOut.objects.values_list("decision", flat=True)),
        list(ReplyPhrase.objects.order_by("pk").values_list("wording", "meaning")),
        ContactTablePreference.objects.count(),
        ConsentRecord.objects.count(),
        list(Disclosure.objects.order_by("pk").values_list("title", "version", "text")),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "name, of, method, data, allowed",
    CASES,
    ids=[
        f"{method} {name}" + (f" {data['action']}" if "action" in data else "")
        for name, _, method, data, _ in CASES
    ],  # fmt: skip
)
def test_each_role_is_allowed_or_denied(objects, role, name, of, method, data, allowed):
    url = reverse(name, args=_args(objects, of))
    data = {key: objects[value] if value == "tag" else value for key, value in data.items()}
    client = client_for(role)
    before = state()
    webhook = url.startswith("/webhooks/")
    if method == "GET":
        response = client.get(url)
    elif webhook:  # as the provider posts
        form = "application/x-www-form-urlencoded"
        response = client.post(url, urlencode(data), content_type=form)
    else:
        response = client.post(url, data)
    login_page = response.status_code == 302 and (
        response.url.startswith(reverse(settings.LOGIN_URL))
        or response.url.startswith(reverse("admin:login"))
    )
    if role in allowed:
        assert response.status_code not in (401, 403, 405) and not login_page, response
        return
    if webhook:
        assert response.status_code == 403, response  # no valid signature
    elif role == "anonymous" or name.startswith("admin:"):
        assert login_page, response
    else:
        assert response.status_code == 403, response
    assert state() == before, "a denied request changed something"


def all_views(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from all_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


# Open to anyone by design, with Django's own protections: signing in and out, and the
# password reset by email.
PUBLIC = {"login", "logout", "password_reset", "password_reset_done", "password_reset_confirm",
          "password_reset_complete", "password_change_done"}  # fmt: skip


def test_every_url_of_the_app_is_in_the_matrix():
    """A new page must say who may open it, here."""
    named = set()
    for pattern, namespace in _patterns(get_resolver().url_patterns):
        if namespace != "admin" and pattern.name:
            named.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    assert named - PUBLIC - {name for name, *_ in CASES} == set()


def _patterns(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, pattern.namespace or namespace)
        else:
            yield pattern, namespace


def test_the_webhooks_and_signed_links_are_the_only_views_without_csrf_protection():
    """The webhooks check Twilio's signature; a subscriptions page's link is signed, the key
    without a cookie (a browser that keeps none may still stop messages there)."""
    exempt = sorted(route for route, view in all_views() if getattr(view, "csrf_exempt", False))
    assert exempt == [
        "subscriptions/<str:token>/",
        "webhooks/twilio/sms/",
        "webhooks/twilio/status/",
        "webhooks/twilio/voice/",
        "webhooks/twilio/voice/gather/",
    ]


@pytest.mark.parametrize(
    "name, of, data",
    [
        (name, of, data)
        for name, of, method, data, allowed in CASES
        if method == "POST" and allowed and name != "subscriptions:page"  # its link is the key
    ],  # fmt: skip
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_every_form_needs_its_csrf_token(objects, name, of, data):
    client = client_for("superuser", enforce_csrf_checks=True)
    data = {key: objects[value] if value == "tag" else value for key, value in data.items()}
    before = state()
    response = client.post(reverse(name, args=_args(objects, of)), data)
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    assert state() == before
