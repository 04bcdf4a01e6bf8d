"""A page where the contact decides: opened by a signed link that a message may carry, with
no login, it shows the number's subscriptions and lets the contact untick SMS or calls. That
is the contact's own revocation, recorded hard with the page as its source (and under the
revoke-all scope, of every channel). A link that was tampered with gets a 403 and changes
nothing. One older than SUBSCRIPTION_LINK_DAYS no longer shows the subscriptions, but still
stops messages: a revocation by any reasonable means is kept, whatever the link's age."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts import services
from contacts.models import Channel, Contact, PhoneOptOut, Source
from contacts.phones import call_back_number, format_phone

SALT = "contacts.subscriptions"


def link(phone: str, contact_id: int | None = None) -> str:
    """The path of the subscriptions page of `phone` (in E.164), signed now; sent to the
    contact `contact_id`, whose page it stays should the contact's number change."""
    sent_to = phone if contact_id is None else f"{phone} {signing.b62_encode(contact_id)}"
    return reverse("subscriptions:page", args=[signing.dumps(sent_to, salt=SALT)])


def _sent_to(signed: str) -> tuple[str, int | None]:
    """The number and the contact (if it names one) a link was sent to."""
    phone, _, contact = signed.partition(" ")
    return phone, signing.b62_decode(contact) if contact else None


# Written in a message's text, it becomes the address of each recipient's own page.
PLACEHOLDER = "{subscriptions_link}"


# One of the longest numbers (E.164's 15 digits) and contact ids, whose link is the longest:
# a text's characters are counted with each link as long as its (broadcasts.forms).
LONGEST_NUMBER = "+999999999999999"
LONGEST_CONTACT_ID = 2**63 - 1


def unsigned_link() -> str:
    """The address a PLACEHOLDER becomes, its token (which is each number's) written "…",
    for people to read: "https://crm.example.com/subscriptions/…/"."""
    return settings.PUBLIC_URL.rstrip("/") + reverse("subscriptions:page", args=["-"])[:-2] + "…/"


def shown(text: str) -> SafeString:
    """`text` for staff to read, escaped, with each PLACEHOLDER marked as the unsigned_link."""
    mark = format_html('<mark title="Each contact\'s own link">{}</mark>', unsigned_link())
    return SafeString(mark.join(escape(part) for part in text.split(PLACEHOLDER)))


def with_link(text: str, phone: str, contact_id: int | None = None) -> str:
    """`text` with each PLACEHOLDER written as the address (at PUBLIC_URL) of `phone`'s page,
    sent to the contact `contact_id`."""
    if PLACEHOLDER not in text:
        return text
    return text.replace(PLACEHOLDER, settings.PUBLIC_URL.rstrip("/") + link(phone, contact_id))


def longest_link(text: str) -> str:
    """`text` with each PLACEHOLDER written as long as a link may be."""
    return with_link(text, LONGEST_NUMBER, LONGEST_CONTACT_ID)


def _refused(request: HttpRequest, why: str) -> HttpResponse:
    context = {"why": why, "business": settings.BUSINESS_NAME}
    return render(request, "contacts/subscriptions_refused.html", context, status=403)


@login_not_required  # the signed link is the key
# And so no cookie is: a request to stop from a browser that keeps none (an app's own, a
# private window) was refused by Django's check of forged requests, and nothing stopped.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, token: str) -> HttpResponse:
    max_age = timedelta(days=settings.SUBSCRIPTION_LINK_DAYS)
    expired = False
    try:
        signed = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        signed, expired = signing.loads(token, salt=SALT), True  # authentic, only old
    except signing.BadSignature:
        return _refused(request, "This link is not valid: it may have been cut short or "
                                 "changed. Reply STOP to any of our texts instead.")  # fmt: skip
    phone, contact_id = _sent_to(signed)
    # A user of the app who opens it (from the contact's page) sees what the contact sees;
    # what is saved here is recorded as the contact's own doing, so not by them.
    signed_in = request.user.get_username() if request.user.is_authenticated else ""
    if signed_in and request.method == "POST":
        return _refused(request, SIGNED_IN.format(user=signed_in))
    stops, shown = _whose(phone, contact_id, _signed_at(token))
    if stops != [phone]:
        return _stop_only(request, stops, signed_in, why="moved")
    if not shown:
        return _stop_only(request, stops, signed_in, why="gone")
    if expired:
        return _stop_only(request, stops, signed_in, why="old")
    stopped = set(PhoneOptOut.objects.filter(phone=phone).values_list("channel", flat=True))
    done = []
    if request.method == "POST":
        asked = _asked_to_stop(request)
        for channel in Channel:
            if channel in stopped or channel not in asked:
                continue
            covered = services.record_revocation(
                phone=phone, channel=channel, source=Source.PAGE,
                words=f"unticked {channel.label} on the subscriptions page",
            )  # fmt: skip
            stopped |= set(covered)
            done += [each for each in covered if each not in done]
    # Not stopped by the number, but none of its contacts receives the channel now: the
    # business paused it (a soft opt-out, a contact not active), which it may undo.
    paused = {
        channel
        for channel in Channel
        if channel not in stopped
        and not Contact.objects.filter(phone=phone).eligible_for(channel).exists()
    }
    context = {
        "business": settings.BUSINESS_NAME,
        "number": format_phone(phone),
        "channels": [(channel, channel not in stopped, channel in paused) for channel in Channel],
        "done": done,
        "start_digit": settings.RESUBSCRIBE_DIGIT,
        "our_number": _our_number(),
        "signed_in": signed_in,
    }
    return render(request, "contacts/subscriptions.html", context)


def _asked_to_stop(request: HttpRequest) -> set[str]:
    """The channels a form sent from a link's page asks to stop, whichever page it was read
    on (the page may have changed since): the stop-only one's ticks, or the full one's boxes
    unticked."""
    if request.POST.get("form") == "stop":
        return set(request.POST.getlist("stop")) & set(Channel.values)
    return set(Channel.values) - set(request.POST.getlist("keep"))


def _our_number() -> str:
    """The number to call back, whose menu offers calls again, as people write it; "" if
    none is set."""
    return format_phone(number) if (number := call_back_number()) else ""


def _whose(phone: str, contact_id: int | None, signed_at: datetime) -> tuple[list[str], bool]:
    """The numbers a link's page stops, and whether it may show the number's subscriptions.

    A link of a number alone is the number's. One a broadcast sent to a contact is the
    number's while the contact has it, or another contact unchanged since it was sent has it
    (the handset it came to, shared). Else the contact has moved: it stops the contact's
    number now, showing nothing, and the one it came to too where a contact there may have
    had it when it was sent (made before it, but changed since: moved onto it, or edited):
    whoever asks is stopped. A link whose contact is gone (deleted, or archived at the
    number) stops the number it came to, showing nothing: nothing tells where the one who
    asks is. Archived contacts hold no number."""
    if contact_id is None:
        return [phone], True
    holders = Contact.objects.filter(phone=phone).exclude(status=Contact.Status.ARCHIVED)
    if holders.filter(pk=contact_id).exists():
        return [phone], True
    # The token's time is in whole seconds: a contact changed within its second counts.
    before = signed_at + timedelta(seconds=1)
    if holders.filter(updated_at__lt=before).exists():
        return [phone], True
    now = Contact.objects.filter(pk=contact_id).values_list("phone", flat=True).first()
    if now is None or now == phone:  # deleted, or archived at the number
        return [phone], False
    return ([now, phone] if holders.filter(created_at__lt=before).exists() else [now]), False


def _signed_at(token: str) -> datetime:
    """When a token (authentic) was signed: its timestamp, in base 62, before its signature."""
    return datetime.fromtimestamp(signing.b62_decode(token.rsplit(":", 2)[1]), UTC)


def _stop_only(request: HttpRequest, phones: list[str], signed_in: str, why: str) -> HttpResponse:
    """The page of a link older than its days (`why`: "old"), sent to a contact whose number
    has changed since ("moved"), or to one since deleted ("gone") (`_whose`: the numbers it
    stops): it shows nothing of the numbers' subscriptions (whoever has an old message may
    open it), and stops what the contact ticks on it. The full page's form, read while the
    link was valid and saved after, stops what it unticked, as it would have then."""
    done: set[str] = set()
    if request.method == "POST":
        done = _asked_to_stop(request)
        # Each, stopped already or not, as a STOP is: what a revocation covers is the scope's
        # on the day (every channel, from OPT_OUT_SCOPE_ALL_FROM), and the answer says
        # nothing of what the number had stopped before.
        for channel in [channel for channel in Channel if channel in done]:
            for phone in phones:
                covered = services.record_revocation(
                    phone=phone, channel=channel, source=Source.PAGE,
                    words=f"asked to stop {channel.label} on the subscriptions page, {BY[why]}",
                )  # fmt: skip
                done |= set(covered)
    context = {
        "business": settings.BUSINESS_NAME,
        "number": "" if why == "moved" else format_phone(phones[0]),
        "why": why,
        "channels": list(Channel),
        "done": [channel for channel in Channel if channel in done],
        "days": settings.SUBSCRIPTION_LINK_DAYS,
        "signed_in": signed_in,
    }
    return render(request, "contacts/subscriptions_expired.html", context)


# How a link that shows nothing came to be opened, as its revocations are recorded.
BY = {
    "old": "by a link past its days",
    "moved": "by a link sent before the contact's number changed",
    "gone": "by a link sent to a contact since deleted",
}


SIGNED_IN = (
    "You are signed in as {user}: this page is the contact's own, and what is saved on it is "
    "recorded as done by them. Nothing was changed. To record that they asked you to stop, "
    "use “Asked to stop…” on their page in the app."
)
