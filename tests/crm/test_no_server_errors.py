"""No URL of the app answers with a server error, whoever asks and whatever they send.

Every URL the resolver knows (so a URL added later is covered as it is added), the admin's
included, is asked by anonymous visitors and by each role, with GET and POST, with query
strings and forms that hypothesis makes of the parameters the views read and of odd values:
NULs, lone surrogates and bytes that are not UTF-8, numbers past 64 bits, dates out of range,
long texts; now and then in another charset or content type, with another Host, or with DEBUG
on. Path parameters are the ids of real objects, or absurd ones. The webhooks are mostly
posted signed, so that the fuzz gets past the signature to the handlers. A 4xx, or a page with
a message, is an answer; a 5xx is a bug (issue 18).
"""

import copy
import random
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import quote_from_bytes

import pytest
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.test import Client, RequestFactory, override_settings
from django.urls import URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.urls.resolvers import RoutePattern
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from broadcasts.forms import AUDIENCE, BroadcastForm
from broadcasts.models import Broadcast, Recipient
from contacts import paging, services
from contacts.filters import ContactFilter
from contacts.forms import BULK_ACTIONS, BulkActionForm, ContactForm, SubscriptionForm
from contacts.models import BulkJob, Channel, ChannelFilter, Contact, Source, Tag
from contacts.tables import ContactTable
from messaging.models import InboundEvent, OutboundMessage, PossibleOptOut
from tests.factories import ContactFactory, reply_start

pytestmark = pytest.mark.django_db

# Examples for each page, and for each model's admin pages together: about 800 requests.
PAGE_EXAMPLES, ADMIN_EXAMPLES = 20, 8


@dataclass(frozen=True)
class Route:
    pieces: tuple  # the patterns from the root that make its path
    view: Callable
    name: str  # e.g. "contacts:detail"; "" for a pattern without one

    def __str__(self) -> str:
        return "/" + "".join(str(piece) for piece in self.pieces)

    @property
    def admin_group(self) -> str:
        """The admin's pages by the model they serve ("contacts/contact/"), else "site"."""
        return str(self.pieces[1]) if len(self.pieces) > 2 else "site"


def _routes(patterns=None, pieces=(), namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, (*pieces, pattern.pattern), inner)
        else:
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield Route((*pieces, pattern.pattern), pattern.callback, name)


ROUTES = list(_routes())
ADMIN_ROUTES = [route for route in ROUTES if str(route.pieces[0]) == "admin/"]
PAGES = [route for route in ROUTES if route not in ADMIN_ROUTES]
ADMIN_GROUPS = sorted({route.admin_group for route in ADMIN_ROUTES})
# What the id in a page's path names; any object's id for a page not named here.
ID_OF = {
    "contacts:detail": "contact",
    "contacts:delete": "contact",
    "contacts:subscription": "contact",
    "contacts:bulk_job": "job",
    "messaging:decide": "review",
    **{route.name: "broadcast" for route in PAGES if route.name.startswith("broadcasts:")},
}

FORM = "application/x-www-form-urlencoded"
ABSURD_IDS = ["0", str(2**31), str(2**63 - 1), str(2**63), str(2**64), "9" * 30, "0" * 30 + "1"]
ODD = [
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\ufffd", "é", "\U0001f600", "\u202e",
    "0", "-1", "1.5", "1e400", "NaN", "Infinity", str(2**31), str(2**63), str(2**64),
    str(-(2**64)), "9" * 4300, "2026-02-30", "2026-01-01T25:00", "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59", "9999-12-31 23:59", "0000-00-00", "a" * 256, "a" * 1001,
    "é" * 600, "ab " * 400, "%_\\" * 50, "'\"; --", "<script>alert(1)</script>", "../../etc",
    "//evil.example/", "https://evil.example/", "\r\nX-Injected: yes", "[]", "{}", "true",
    "+", "+1", "(", "+" + "9" * 40, "1 " * 300, "@", "a@", "\t",
]  # fmt: skip
# Bytes that are not UTF-8 text, sent percent-encoded as they are.
NOT_TEXT = [b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80abc"]

# Values that get past the views' first checks, by parameter name (odd ones come from ODD): the
# app's forms and filters add their own fields, and the world its ids (plausible()).
TWILIO = {
    "MessageSid": ["SM1", "SM" + "0" * 32, "SM" + "9" * 196],  # the longest key that fits
    "CallSid": ["CA1", "CA" + "0" * 32, "CA" + "9" * 189],
    "From": ["+14155550101", "+14155550102", "+14155550103", "(415) 555-0123", "anonymous"],
    "To": ["+14155550101", "+14155559999", "+442079460958"],
    "Body": ["STOP", "START", "HELP", "stop please", "Cancel my appointment", "Yes!"],
    "Digits": ["9", "1", "#"],
    "MessageStatus": ["delivered", "failed", "undelivered", "sent"],
    "ErrorCode": ["21610", "30003"],
    "ErrorMessage": ["Unreachable"],
    "Direction": ["inbound", "outbound-api", "Outbound-Dial"],
    "digit": ["9", "1", "*"],
    "resubscribe": ["1"],
}
ACCOUNTS = {
    "username": ["stafftest", "root", "nobody"],
    "password": ["secret-pass-123", "wrong"],
    "old_password": ["secret-pass-123"],
    "new_password1": ["N3w-passphrase-2026"],
    "new_password2": ["N3w-passphrase-2026"],
}
# The admin's own: its search, ordering, pages, actions, change forms' buttons, popups, the
# contacts' list filters, autocomplete.
ADMIN_PARAMETERS = {
    "q": ["a", "+1415"],
    "o": ["1", "-2.1", "99"],
    "p": ["1", "2"],
    "action": ["delete_selected"],
    "select_across": ["0", "1"],
    "index": ["0"],
    "post": ["yes"],
    "_save": ["Save"],
    "_continue": ["1"],
    "_popup": ["1"],
    "_to_field": ["id"],
    "_changelist_filters": ["q=a", "sms=hard"],
    "sms": ChannelFilter.values,
    "calls": ChannelFilter.values,
    "term": ["a"],
    "app_label": ["contacts"],
    "model_name": ["contact"],
    "field_name": ["tags"],
}


def plausible(world: dict) -> dict[str, list[str]]:
    """For each parameter the app's pages read, values that get past their first checks."""
    ids = {kind: [str(pk) for pk in world[kind]] for kind in ("contact", "tag")}
    table = {
        "q": ["a", "Ana", "555-01", "+1415", "(415) 2", "ana@example", "%"],
        "sms": ChannelFilter.values,
        "calls": ChannelFilter.values,
        "status": [*Contact.Status.values, *Recipient.Status.values, *Broadcast.Status.values],
        "tag": ids["tag"],
    }
    values = {
        **table,
        **{f"{AUDIENCE}-{name}": choices for name, choices in table.items()},
        **TWILIO,
        **ACCOUNTS,
        "action": list(BULK_ACTIONS),
        "scope": ["selected", "all"],
        "contacts": ids["contact"],
        "query": ["", "q=a", "sms=hard&status=active", f"tag={ids['tag'][0]}"],
        "confirmed": ["on"],
        "channel": Channel.values,
        "decision": ["confirmed", "dismissed"],
        "after": world["cursors"],
        "before": world["cursors"],
        "page": ["1", "2", "10"],
        "per_page": ["25", "200"],
        "sort": ["name", "-name", "phone", "-created_at", "status", "-status"],
        "next": ["/contacts/", "/broadcasts/", "https://evil.example/"],
        "show": ContactTable.hideable,
        "name": ["Ana Alvarez", "Reminder"],
        "phone": ["+14155550199", "(415) 555-0101", "+14155550101"],
        "email": ["ana@example.com", "root@example.com"],
        "tags": ids["tag"],
        "body": ["See you soon", "Reply STOP to end"],
        "script": ["Hello from us"],
        "audio_url": ["https://example.com/a.mp3"],
        "unsubscribe_digit": ["9", "1", "#"],
        "send_at": ["2030-01-01T10:00", "2001-01-01T00:00", "9999-12-31T23:59"],
        "file": [  # the import's, sent as a file in a multipart form
            "name,phone\nAna,+14155550101\n",
            "name,phone,email,tags,status,sms,calls\nBo,(415) 555-0199,b@x.org,VIP,active,hard,\n",
            "name,phone\n\x00,\ud800\n" + "x," * 500,
            "\ufeffname;phone\r\nCy;+1415\r\n",
        ],
    }
    # Every field of the app's forms and filters, read from them, has a value at least.
    forms = [BulkActionForm, ContactForm, SubscriptionForm, BroadcastForm]
    for name in [n for form in forms for n in form.base_fields] + list(ContactFilter.base_filters):
        values.setdefault(name, ["1"])
    return values


def admin_plausible(world: dict, model) -> dict[str, list[str]]:
    """The admin's parameters, and the fields of the model whose pages these are (in its
    change form, and as lookups in its list); the site's pages have a login form instead."""
    pages = plausible(world)
    values = ADMIN_PARAMETERS | {"_selected_action": [str(pk) for pk in world["contact"]]}
    if model is None:
        return values | ACCOUNTS | {"next": pages["next"]}
    for field in model._meta.concrete_fields:
        values[field.name] = values[f"{field.name}__exact"] = pages.get(field.name, ["1"])
    return values


def value(plausible: list[str]) -> st.SearchStrategy[str | bytes]:
    """A parameter's value: plausible, odd, not text at all, or anything."""
    return st.one_of(
        st.sampled_from(plausible or ["1"]),
        st.sampled_from(ODD),
        st.sampled_from(NOT_TEXT),
        st.text(max_size=30),
    )


def fields(values: dict[str, list[str]]) -> st.SearchStrategy[list[tuple[str, str | bytes]]]:
    """A query string's or a form's fields: often all or most parameters, with plausible
    values (so that a form is valid and acted on) and a few odd ones; then a few more, odd
    or repeated."""
    names = sorted(values)

    def most(seed: int) -> list[tuple[str, str]]:
        # From one seed rather than a draw per parameter, which made hypothesis slower than
        # the requests themselves.
        pick = random.Random(seed)
        share, odd = pick.choice([0.3, 0.7, 1, 1]), pick.choice([0, 0.05, 0.2])
        return [
            (name, pick.choice(ODD + NOT_TEXT if pick.random() < odd else values[name]))
            for name in names
            if pick.random() < share
        ]

    named = st.sampled_from(names).flatmap(
        lambda name: st.tuples(st.just(name), value(values[name]))
    )
    unnamed = st.tuples(st.one_of(st.sampled_from(ODD), st.text(max_size=10)), value([]))
    more = st.lists(st.one_of(named, unnamed), max_size=4)
    every = st.integers(min_value=0, max_value=2**32 - 1).map(most)
    return st.tuples(st.one_of(every, every, st.just([])), more).map(
        lambda drawn: drawn[0] + drawn[1]
    )


def encoded(pairs: list[tuple[str, str | bytes]]) -> str:
    """Percent-encoded as a browser would, surrogates and bytes that are not text as they are."""
    return "&".join(f"{_quoted(name, '')}={_quoted(v, '')}" for name, v in pairs)


def _quoted(text: str | bytes, safe: str = "/") -> str:
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe=safe)


def multipart(pairs: list[tuple[str, str | bytes]]) -> bytes:
    """The fields as a multipart form, each as its bytes; a `file` field as a CSV file."""
    lines = []
    for name, text in pairs:
        raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        disposition = b'form-data; name="' + _quoted(name, "").encode() + b'"'
        if name == "file":
            disposition += b'; filename="contacts.csv"'
        lines += [b"--BoUnDaRy", b"Content-Disposition: " + disposition, b"", raw]
    return b"\r\n".join([*lines, b"--BoUnDaRy--", b""])


def path(route: Route, ids: list[str]) -> st.SearchStrategy[str]:
    """A path that `route` matches: mostly ids of real objects for its numbers, else absurd
    ids; odd texts for its other parameters."""
    real = st.sampled_from(ids) if ids else st.nothing()
    number = st.one_of(real, real, st.sampled_from(ABSURD_IDS))
    other = st.one_of(real, st.sampled_from(ODD), st.text(min_size=1, max_size=20))
    parts = []
    for piece in route.pieces:
        if not isinstance(piece, RoutePattern):  # a regular expression: whatever it matches
            parts.append(st.from_regex(piece.regex, fullmatch=True).map(_quoted))
            continue
        for index, part in enumerate(re.split(r"<(?:\w+:)?(\w+)>", str(piece))):
            if index % 2 == 0:
                parts.append(st.just(part))
            elif isinstance(piece.converters[part], IntConverter):
                parts.append(number)
            else:
                parts.append(other.map(lambda text: _quoted(text) or "x"))
    return st.tuples(*parts).map(lambda drawn: "/" + "".join(drawn))


def signature(url: str, body: str, content_type: str, headers: dict) -> str:
    """The signature Twilio would send for this request, made as the webhooks check it."""
    if not content_type.startswith(FORM):
        return "only forms are signed"  # and the webhooks take nothing else
    request = RequestFactory().generic("POST", url, body, content_type, headers=headers)
    request.encoding = "utf-8"
    try:
        uri = request.build_absolute_uri()
    except DisallowedHost:
        return "no host to sign for"
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(uri, request.POST)


# How a request travels: mostly plainly, sometimes one odd thing at a time.
PLAIN = {"content_type": FORM, "headers": {}, "debug": False}
TRAVELS = [PLAIN] * 8 + [
    PLAIN | {"content_type": f"{FORM}; charset=latin-1"},
    PLAIN | {"content_type": f"{FORM}; charset=utf8"},
    PLAIN | {"content_type": "multipart/form-data; boundary=BoUnDaRy"},
    PLAIN | {"content_type": "application/json"},
    PLAIN | {"headers": {"HX-Request": "true"}},
    PLAIN | {"headers": {"X-Forwarded-Proto": "https"}},
    PLAIN | {"headers": {"Host": "testserver:99999"}},
    PLAIN | {"headers": {"Host": "evil.example"}},
    PLAIN | {"debug": True},
    PLAIN | {"debug": True, "content_type": f"{FORM}; charset=latin-1"},
]
# Anonymous visitors less often: most pages send them to the login page at once.
ROLES = ["anonymous"] + ["staff", "admin", "manager", "superuser"] * 2


@pytest.fixture
def world(staff_user, admin_role_user, manager_user, superuser) -> dict:
    """A few of every object the pages show, in each state, and each role's session."""
    vip = Tag.objects.create(name="VIP")
    ana = ContactFactory(name="Ana Alvarez", phone="+14155550101", email="ana@example.com")
    ana.tags.add(vip)
    ben = ContactFactory(name="Ben Brown", phone="+14155550102")
    services.unsubscribe(contact=ben, channel=Channel.SMS, by_user=admin_role_user)
    services.record_hard_opt_out(phone=ben.phone, channel=Channel.CALLS, source=Source.DIGIT)
    cy = ContactFactory(name="Cy Chen", phone="+14155550103", status="archived")
    services.record_hard_opt_out(phone=cy.phone, channel=Channel.SMS, source=Source.KEYWORD)
    reply_start(cy.phone)
    broadcasts = [
        Broadcast.objects.create(name=status, channel=channel, body="Hi", script="Hi",
                                 status=status, audience=audience)
        for status, channel, audience in [
            ("draft", "sms", "q=a"), ("scheduled", "calls", ""), ("sending", "sms", "tag=1"),
            ("done", "sms", "sms=subscribed"), ("cancelled", "calls", "q=" + "é" * 100),
        ]
    ]  # fmt: skip
    Recipient.objects.create(broadcast=broadcasts[3], contact=ana, phone=ana.phone,
                             status="sent", sid="SMsent")  # fmt: skip
    jobs = [BulkJob.objects.create(action=action, count=20_000, status=status, query="q=a",
                                   tag=vip, by_user=admin_role_user)
            for action, status in [("add_tag", "queued"), ("gone_action", "done")]]  # fmt: skip
    reviews = [
        PossibleOptOut.objects.create(phone=ana.phone, words="please no more"),
        PossibleOptOut.objects.create(phone=ben.phone, words="no", decision="dismissed"),
    ]
    OutboundMessage.objects.create(kind="sms", to=ana.phone, body="Hi", sid="SMout")
    InboundEvent.store(key="sms:SMseen", kind="sms", payload={"From": ana.phone, "Body": "x"})
    users = {"staff": staff_user, "admin": admin_role_user, "manager": manager_user,
             "superuser": superuser}  # fmt: skip
    sessions = {"anonymous": SimpleCookie()}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[role] = client.cookies
    return {
        "contact": [ana.pk, ben.pk, cy.pk],
        "tag": [vip.pk],
        "broadcast": [broadcast.pk for broadcast in broadcasts],
        "job": [job.pk for job in jobs],
        "review": [review.pk for review in reviews],
        "user": [user.pk for user in users.values()],
        "cursors": [
            paging._encode(["Ana Alvarez", ana.pk]),
            paging._encode([ben.created_at, ben.pk]),
            paging._encode(["A", 2**64]),
            paging._encode(["\ud800", 1]),
            paging._encode(["9999-12-31T23:59:59-23:59", 1]),
            "garbage!!",
        ],
        "sessions": sessions,
    }


def fuzz(
    world: dict,
    routes: list[Route],
    values: dict[str, list[str]],
    methods: list[str],
    roles: list[str],
    examples: int,
):
    """Ask `routes` with hypothesis's requests: no answer may be a server error."""
    anything = sorted({str(pk) for kind in ("contact", "tag", "broadcast", "job", "review",
                                            "user") for pk in world[kind]})  # fmt: skip

    def ids(route: Route) -> list[str]:
        if model_admin := getattr(route.view, "model_admin", None):
            return [str(pk) for pk in model_admin.model._default_manager.values_list("pk")[:5]]
        return [str(pk) for pk in world[ID_OF[route.name]]] if route.name in ID_OF else anything

    requests = st.sampled_from(routes).flatmap(
        lambda route: st.fixed_dictionaries(
            {
                "route": st.just(route),
                "url": path(route, ids(route)),
                "method": st.sampled_from(methods),
                "role": st.sampled_from(roles),
                "query": fields(values),
                "form": fields(values),
                "travel": st.sampled_from(TRAVELS),
                "signed": st.sampled_from([True, True, True, False]),
            }
        )
    )

    @hypothesis_settings(
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests)
    def check(request):
        response = send(request, world["sessions"][request["role"]])
        assert response.status_code < 500, _described(response)

    check()


def send(request: dict, cookies: SimpleCookie):
    url, travel = request["url"], request["travel"]
    if request["query"]:
        url += "?" + encoded(request["query"])
    client = Client(raise_request_exception=False)  # a server error is a response to see
    client.cookies = copy.deepcopy(cookies)
    headers = dict(travel["headers"])
    # Nothing an example changes stays for the next one. A savepoint, not an atomic block:
    # a view's durable block (contacts.paging) must still be allowed.
    savepoint = transaction.savepoint_create()
    try:
        with override_settings(DEBUG=travel["debug"]):
            if request["method"] == "GET":
                return client.get(url, headers=headers)
            content_type = travel["content_type"]
            if content_type.startswith("multipart/"):
                body = multipart(request["form"])
            else:
                body = encoded(request["form"])
            if getattr(request["route"].view, "csrf_exempt", False) and request["signed"]:
                # The only views without CSRF protection are Twilio's webhooks.
                headers["X-Twilio-Signature"] = signature(url, body, content_type, headers)
            return client.post(url, body, content_type=content_type, headers=headers)
    finally:
        transaction.savepoint_rollback(savepoint)
        transaction.set_rollback(False)


def _described(response) -> str:
    if response.exc_info:
        return "".join(traceback.format_exception(*response.exc_info))
    return f"{response.status_code}: {response.content[:2000]!r}"


@pytest.mark.parametrize("route", PAGES, ids=str)
def test_no_page_answers_with_a_server_error(world, route):
    fuzz(world, [route], plausible(world), ["GET", "POST"], ROLES, PAGE_EXAMPLES)


@pytest.mark.parametrize("group", ADMIN_GROUPS)
def test_no_admin_page_answers_with_a_server_error(world, group):
    # Only a superuser gets past the admin's login; the others are asked now and then.
    routes = [route for route in ADMIN_ROUTES if route.admin_group == group]
    served = [getattr(route.view, "model_admin", None) for route in routes]
    model = next((model_admin.model for model_admin in served if model_admin), None)
    roles = ["superuser"] * 4 + ["anonymous", "staff"]
    fuzz(world, routes, admin_plausible(world, model), ["GET", "POST"], roles, ADMIN_EXAMPLES)
