"""The pages staff use: the possible opt-outs to review, and the console backend's outbox."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max, Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts import services
from contacts.models import (
    CONFIRMED_IN_REVIEW,
    MATCHED_LENGTH,
    Channel,
    PhoneOptOut,
    Source,
    channels_in_words,
    channels_revoked,
)
from contacts.phones import format_phone, normalize_phone
from messaging.keywords import Intent, plain, read
from messaging.models import (
    REVIEW_DUE_BUSINESS_DAYS,
    InboundEvent,
    PossibleOptOut,
    ReplyPhrase,
    ReviewStep,
)
from messaging.outbox import Pages as OutboxPages
from messaging.outbox import entries
from messaging.phrases import may_teach, teach
from messaging.selectors import contacts_by_phone

PENDING_SHOWN = 200
CONTACTS_SHOWN = 3  # of a number that several contacts share


def _with_contacts(reviews: list[PossibleOptOut]) -> list[PossibleOptOut]:
    """Each review with `contacts`, the first few contacts that have its number, and
    `more_contacts`, how many others do."""
    found = contacts_by_phone(review.phone for review in reviews)
    for review in reviews:
        contacts = found.get(review.phone, [])
        review.contacts = contacts[:CONTACTS_SHOWN]
        review.more_contacts = len(contacts) - len(review.contacts)
    return reviews


def _who(review: PossibleOptOut) -> str:
    """The contacts and the number, for messages: "Ana Diaz, (415) 555-0101"."""
    names = [contact.name for contact in review.contacts]
    if review.more_contacts:
        names.append(f"{review.more_contacts} more")
    return ", ".join([*names, review.phone_display])


@permission_required("contacts.view_contact", raise_exception=True)
def possible_opt_outs(request: HttpRequest) -> HttpResponse:
    """The replies to review, the longest waiting first, and the latest decided."""
    pending = PossibleOptOut.objects.filter(decision=PossibleOptOut.Decision.PENDING)
    steps = Prefetch("steps", queryset=ReviewStep.objects.select_related("by"))
    shown = list(pending.order_by("received_at", "id").prefetch_related(steps)[:PENDING_SHOWN])
    decided = PossibleOptOut.objects.exclude(decision=PossibleOptOut.Decision.PENDING)
    decided = list(decided.prefetch_related(steps)[:50])
    _with_contacts(shown + decided)
    now = timezone.now()
    for review in shown:
        review.business_days = review.business_days_waiting(now)
        review.overdue = review.business_days > REVIEW_DUE_BUSINESS_DAYS
        # Not a reply read beside a clear request: the rules decide those words alone.
        review.may_teach = may_teach(review.words)
    context = {
        "due_business_days": REVIEW_DUE_BUSINESS_DAYS,
        "pending": shown,
        "pending_count": pending.count() if len(shown) == PENDING_SHOWN else len(shown),
        "decided": decided,
        "can_decide": request.user.has_perm("messaging.decide_possibleoptout"),
        "can_teach": request.user.has_perm("messaging.add_replyphrase"),
        "every_channel": len(channels_revoked(Channel.SMS)) > 1,
    }
    return render(request, "messaging/possible_opt_outs.html", context)


# What a confirmation made sure of may follow: a review waiting, dismissed meanwhile, or
# confirmed for fewer channels.
CONFIRMABLE = [
    PossibleOptOut.Decision.PENDING,
    PossibleOptOut.Decision.DISMISSED,
    PossibleOptOut.Decision.CONFIRMED,
]


@permission_required("messaging.decide_possibleoptout", raise_exception=True)
def decide_possible_opt_out(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm: a hard opt-out of what the review stops (`PossibleOptOut.stops`) with the
    contact's own words, once asked again ("sure"). Dismiss: nothing changes. With
    `keep_wording`, an Admin keeps the decision for the next reply worded the same way. A
    GET (the confirmation page's address, opened again) leads back to the list."""
    if request.method != "POST":
        return redirect("messaging:possible_opt_outs")
    review = get_object_or_404(PossibleOptOut, pk=pk)
    decision = request.POST.get("decision")
    if decision not in (PossibleOptOut.Decision.CONFIRMED, PossibleOptOut.Decision.DISMISSED):
        return HttpResponseBadRequest("Choose confirmed or dismissed.")
    [review] = _with_contacts([review])
    # A confirmation made sure of holds over a dismissal or a narrower confirmation made
    # meanwhile: a hard opt-out only widens, and the contact's request is honoured.
    confirming = decision == PossibleOptOut.Decision.CONFIRMED and request.POST.get("sure") == "yes"
    if review.decision not in (CONFIRMABLE if confirming else [PossibleOptOut.Decision.PENDING]):
        messages.info(request, f"{_who(review)}: already decided.")
        return redirect("messaging:possible_opt_outs")
    keep_wording = request.POST.get("keep_wording") == "yes"
    if keep_wording and not request.user.has_perm("messaging.add_replyphrase"):
        raise PermissionDenied
    every_channel = len(channels_revoked(Channel.SMS)) > 1
    asked = [Channel(channel) for channel in review.channels.split()]
    # What a reply asks of two channels, a person may find it asks of one ("stop calling me so
    # early": calls); under the scope "all", one is both.
    choosing = len(asked) > 1 and not every_channel
    chosen = asked
    if choosing and request.POST.get("choosing") == "yes":
        chosen = [channel for channel in asked if channel in request.POST.getlist("channels")]
    sure = request.POST.get("sure") == "yes" and chosen
    if decision == PossibleOptOut.Decision.CONFIRMED and not sure:
        # No platform user can reverse a hard opt-out: ask once more, on a page of its own.
        context = {
            "review": review,
            "covers": channels_in_words(review.stops),
            "stops_texts": Channel.SMS in review.stops,
            "stops_calls": Channel.CALLS in review.stops,
            "every_channel": every_channel,
            "keep_wording": keep_wording,
            "choices": [(channel, channel in chosen) for channel in asked] if choosing else [],
            "none_chosen": not chosen,
        }
        return render(request, "messaging/confirm_opt_out.html", context)
    covered: set[Channel] = set()
    if review.decision == PossibleOptOut.Decision.CONFIRMED:  # only what it did not stop
        stopped = PhoneOptOut.objects.filter(phone=review.phone).values_list("channel", flat=True)
        chosen = [channel for channel in chosen if channel not in set(stopped)]
        if not chosen:
            messages.info(request, f"{_who(review)}: already decided.")
            return redirect("messaging:possible_opt_outs")
    with transaction.atomic():  # never a confirmed review without its opt-out
        # Compare-and-set: of two people deciding at once, the first one counts, and a
        # confirmation after it too (CONFIRMABLE).
        open_to = CONFIRMABLE if confirming else [PossibleOptOut.Decision.PENDING]
        still = PossibleOptOut.objects.filter(pk=pk, decision__in=open_to)
        now = timezone.now()
        decided = still.update(decision=decision, decided_by=request.user, decided_at=now)
        if decided and decision == PossibleOptOut.Decision.DISMISSED:
            ReviewStep.objects.create(review_id=pk, step=decision, by=request.user, at=now)
        if decided and decision == PossibleOptOut.Decision.CONFIRMED:
            matched = f"{CONFIRMED_IN_REVIEW} by {request.user.get_username()}"
            if review.matched:
                matched += f", reviewed for {review.matched}"
            for channel in chosen:
                covered |= set(
                    services.record_revocation(
                        phone=review.phone,
                        channel=channel,
                        source=Source.KEYWORD,
                        words=review.words,
                        matched=matched,
                    )  # fmt: skip
                )
            ReviewStep.objects.create(
                review_id=pk, step=decision, by=request.user, at=now,
                channels=" ".join(channel for channel in Channel if channel in covered),
            )  # fmt: skip
    if decided and keep_wording:  # after the decision holds: keeping a phrase is not it
        meaning = (
            ReplyPhrase.Meaning.OPT_OUT
            if decision == PossibleOptOut.Decision.CONFIRMED
            else ReplyPhrase.Meaning.ORDINARY
        )
        try:
            _keep(request, words=review.words, meaning=meaning)
        except ValidationError as refusal:
            messages.warning(request, f"Wording not kept: {refusal.messages[0]}")
    if not decided:
        messages.info(request, f"{_who(review)}: already decided.")
    elif decision == PossibleOptOut.Decision.CONFIRMED:
        messages.success(
            request,
            f"{_who(review)}: opted out of {channels_in_words(covered)} (hard), in their words.",
        )
    else:
        messages.success(
            request,
            f"{_who(review)}: dismissed; nothing changed. Reopen it under Decided if that "
            "was a mistake.",
        )
    return redirect("messaging:possible_opt_outs")


@require_POST
@permission_required("messaging.decide_possibleoptout", raise_exception=True)
def reopen_possible_opt_out(request: HttpRequest, pk: int) -> HttpResponse:
    """A dismissed review, to decide again: its number gets none of what it would stop
    meanwhile. (A confirmed one stays: no platform user can reverse a hard opt-out.) The
    wording kept as ordinary with that dismissal, or since, is forgotten: such replies go to
    review again rather than pass."""
    review = get_object_or_404(PossibleOptOut, pk=pk)
    [review] = _with_contacts([review])
    with transaction.atomic():
        dismissed = PossibleOptOut.objects.filter(
            pk=pk, decision=PossibleOptOut.Decision.DISMISSED
        ).select_for_update()
        dismissed_at = dismissed.values_list("decided_at", flat=True).first()
        reopened = dismissed.update(
            decision=PossibleOptOut.Decision.PENDING, decided_by=None, decided_at=None
        )
        if reopened:
            ReviewStep.objects.create(review_id=pk, step=ReviewStep.REOPENED, by=request.user)
        forgotten = 0
        if reopened and dismissed_at:
            forgotten, _ = ReplyPhrase.objects.filter(
                wording=plain(review.words),
                meaning=ReplyPhrase.Meaning.ORDINARY,
                added_at__gte=dismissed_at,
            ).delete()
    if not reopened:
        messages.info(request, f"{_who(review)}: not dismissed any more; nothing changed.")
        return redirect("messaging:possible_opt_outs")
    # After the commit, as a STOP's own close runs after its commit: of a STOP and a reopen
    # at the same moment, the later one closes it.
    PossibleOptOut.close_answered(review.phone)
    review.refresh_from_db()
    if review.decision == PossibleOptOut.Decision.OPTED_OUT:
        messages.info(request, f"{_who(review)}: the number has opted out of it itself since.")
    else:
        messages.success(request, f"{_who(review)}: to review again.")
    if forgotten:
        messages.info(
            request,
            f"The wording “{review.words.strip()}” is no longer kept as ordinary: such replies "
            "are reviewed again.",
        )
    return redirect("messaging:possible_opt_outs")


def _keep(request: HttpRequest, *, words: str, meaning: str) -> ReplyPhrase:
    """Teach the wording of `words` (messaging.phrases.teach) and say so to the user."""
    phrase = teach(
        words=words, meaning=meaning, by=request.user,
        may_change=request.user.has_perm("messaging.change_replyphrase"),
    )  # fmt: skip
    messages.success(
        request,
        f"The next reply worded “{phrase.example}” will be read as "
        f"{phrase.get_meaning_display().lower()}.",
    )
    return phrase


@permission_required("messaging.view_replyphrase", raise_exception=True)
def reply_phrases(request: HttpRequest) -> HttpResponse:
    """The wordings staff decided, newest first, with how many replies each has decided and
    when it last did; Admins add and delete them here."""
    form_error, words, meaning = "", "", ReplyPhrase.Meaning.OPT_OUT
    if request.method == "POST":
        if not request.user.has_perm("messaging.add_replyphrase"):
            raise PermissionDenied
        words = request.POST.get("words", "")
        meaning = request.POST.get("meaning", "")
        if meaning not in ReplyPhrase.Meaning.values:
            form_error = "Choose what the wording means."
        else:
            try:
                _keep(request, words=words, meaning=meaning)
            except ValidationError as error:
                form_error = error.messages[0]
            else:
                return redirect("messaging:reply_phrases")
    context = {
        "phrases": ReplyPhrase.objects.select_related("added_by").annotate(
            uses=Count("events"), last_used=Max("events__received_at")
        )[:500],
        "meanings": ReplyPhrase.Meaning.choices,
        "can_add": request.user.has_perm("messaging.add_replyphrase"),
        "can_delete": request.user.has_perm("messaging.delete_replyphrase"),
        "form_error": form_error,
        "words": words,
        "meaning": meaning,
    }
    return render(
        request, "messaging/reply_phrases.html", context, status=400 if form_error else 200
    )


@permission_required("messaging.view_replyphrase", raise_exception=True)
def reply_phrase(request: HttpRequest, pk: int) -> HttpResponse:
    """The replies a wording decided, newest first, 100 a page: who sent them and what they
    said. One decided as ordinary can be sent back to review, where the wording was wrong."""
    phrase = get_object_or_404(ReplyPhrase.objects.select_related("added_by"), pk=pk)
    decided = InboundEvent.objects.filter(phrase=phrase).order_by("-received_at", "-id")
    page = Paginator(decided, 100).get_page(request.GET.get("page"))
    contacts = contacts_by_phone({event.phone for event in page})
    context = {
        "phrase": phrase,
        "page": page,
        "replies": [
            (event, format_phone(event.phone), contacts.get(event.phone, [])) for event in page
        ],
        "can_review_again": phrase.meaning == ReplyPhrase.Meaning.ORDINARY
        and request.user.has_perm("messaging.decide_possibleoptout"),
    }
    return render(request, "messaging/reply_phrase.html", context)


@require_POST
@permission_required("messaging.decide_possibleoptout", raise_exception=True)
def review_again(request: HttpRequest, pk: int, event_pk: int) -> HttpResponse:
    """A reply that a wording kept as ordinary let pass, to Possible opt-outs: its number gets
    none of what it may ask to stop until someone decides it."""
    phrase = get_object_or_404(ReplyPhrase, pk=pk, meaning=ReplyPhrase.Meaning.ORDINARY)
    event = get_object_or_404(InboundEvent, pk=event_pk, phrase=phrase)
    words = event.payload.get("Body", "")
    reading = read(words)
    channels = reading.channels if reading.intent == Intent.POSSIBLE_OPT_OUT else (Channel.SMS,)
    pending = PossibleOptOut.objects.filter(
        phone=event.phone, words=words, decision=PossibleOptOut.Decision.PENDING
    )
    if pending.exists():
        messages.info(request, "That reply is waiting in Possible opt-outs already.")
        return redirect("messaging:reply_phrase", pk=pk)
    PossibleOptOut.objects.create(
        phone=event.phone, words=words, received_at=event.received_at,
        channels=" ".join(channels),
        matched=f"sent back to review by {request.user.get_username()}: it passed as"
                f" ordinary by the {phrase.described}"[:MATCHED_LENGTH],
    )  # fmt: skip
    PossibleOptOut.close_answered(event.phone)  # a number opted out of it since: closed
    messages.success(
        request,
        f"{format_phone(event.phone)}: to review in Possible opt-outs. Its number gets no "
        f"{channels_in_words(channels)} meanwhile.",
    )
    return redirect("messaging:reply_phrase", pk=pk)


@require_POST
@permission_required("messaging.delete_replyphrase", raise_exception=True)
def delete_reply_phrase(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget a wording: the next reply worded so is read by the built-in rules again."""
    deleted, _ = ReplyPhrase.objects.filter(pk=pk).delete()
    if deleted:
        messages.success(request, "Phrase deleted: such replies are read by the built-in rules.")
    return redirect("messaging:reply_phrases")


OUTBOX_PAGE_SIZE = 50


@permission_required("contacts.view_contact", raise_exception=True)
def outbox(request: HttpRequest) -> HttpResponse:
    """What the console backend sent and the webhooks' replies, newest first, a page at a
    time, of one number if asked."""
    number = request.GET.get("number", "").strip()
    phone, error = "", ""
    if number:
        try:
            phone = normalize_phone(number)
        except ValidationError:
            error = f"“{number}” is not a phone number: write it as you would dial it."
    rows = [] if error else OutboxPages(phone)
    page = Paginator(rows, OUTBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "entries": entries(list(page.object_list)),
        "number": number,
        "phone": phone,
        "error": error,
    }
    return render(request, "messaging/outbox.html", context)
