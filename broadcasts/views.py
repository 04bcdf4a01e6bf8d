import csv
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_POST

from broadcasts import charts, insights, sending, services
from broadcasts.forms import (
    BroadcastForm,
    InsightsRange,
    TestSendForm,
    audience_filter,
    audience_query,
    format_time,
)
from broadcasts.models import Broadcast, Recipient
from contacts import paging, subscriptions
from contacts.csv_export import neutralise
from contacts.models import Channel
from contacts.phones import format_phone
from messaging.models import business_days_between
from messaging.sms import count_segments
from messaging.twiml import call_opening, reach_us, unsubscribe_offer


@permission_required("broadcasts.view_broadcast", raise_exception=True)
def broadcast_list(request: HttpRequest) -> HttpResponse:
    """The newest LISTED broadcasts, each with its recipients by status.

    Counted with the broadcasts, as one grouped query, the recipients of every broadcast ever
    sent were read (half a second a million), and Django, which drops a model's ordering
    from such a query, listed any 100 rather than the newest. A finished broadcast says how
    many its launch took; the others' are counted by status, along the recipient_status
    index."""
    broadcasts = list(
        Broadcast.objects.select_related("created_by", "launched_by").order_by(
            "-created_at", "-id"
        )[:LISTED]
    )
    finished = {b.pk for b in broadcasts if b.status == b.Status.DONE and b.recipients_taken}
    # Not a draft's nor a scheduled one's, which have none: launched since it was read, it
    # would show as a draft with recipients to go.
    launched = [b for b in broadcasts if b.status in LAUNCHED and b.pk not in finished]
    counted = (
        Recipient.objects.filter(broadcast__in=launched)
        .values_list("broadcast", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_status: dict[int, dict[str, int]] = {}
    for broadcast_id, status, n in counted:
        by_status.setdefault(broadcast_id, {})[status] = n
    for broadcast in broadcasts:
        counts = by_status.get(broadcast.pk, {})
        broadcast.total = (
            broadcast.recipients_taken if broadcast.pk in finished else sum(counts.values())
        )
        for status in ("pending", "sending", "deferred", "cancelled"):  # what the list says
            setattr(broadcast, status, counts.get(status, 0))
    return render(request, "broadcasts/broadcast_list.html", {"broadcasts": broadcasts})


LISTED = 100
LAUNCHED = (Broadcast.Status.SENDING, Broadcast.Status.DONE, Broadcast.Status.CANCELLED)


LAUNCHED_NOT_CHANGED = "A launched broadcast cannot be changed."
LAUNCHED_ALREADY = "This broadcast was launched already."
READS_AS_MARKETING = (
    "Not launched: this broadcast is marked informational, but reads as marketing (“{words}”). "
    "Choose Marketing, or tick “It is informational” if it promotes nothing, and save it."
)
CHANGED_SINCE_CONFIRMED = (
    "Not launched: this broadcast was edited since you opened its launch page. Here is what it "
    "is now, and whom it reaches: launch it if it is what you mean to send."
)


UNSCHEDULED_BY_EDIT = (
    "“{broadcast}” is a draft again: what it sends, or to whom, is no longer what its launch "
    "confirmed. Check its preview and launch it again to send it at its time."
)


def _edit(request: HttpRequest, broadcast: Broadcast | None) -> HttpResponse:
    form = BroadcastForm(request.POST or None, instance=broadcast)
    if request.method == "POST":
        audience = audience_filter(request.POST)
    else:
        # From the Contacts table ("Send a broadcast to these contacts"), or as saved.
        stored = broadcast.audience if broadcast else request.GET.urlencode()
        audience = audience_filter(stored=stored)
    if request.method == "POST" and form.is_valid() and audience.is_valid():
        broadcast = form.save(commit=False)
        broadcast.audience = audience_query(audience)
        if not broadcast.pk:
            broadcast.created_by = request.user
            broadcast.save()
            return redirect("broadcasts:detail", pk=broadcast.pk)
        try:
            unscheduled = services.edit(broadcast=broadcast)
        except services.Deleted:  # the form's copy has the new name: say it plainly
            messages.error(request, "It was deleted since its page was read: nothing was saved.")
            return redirect("broadcasts:list")
        except services.NotEditable:
            messages.error(request, LAUNCHED_NOT_CHANGED)
            return redirect("broadcasts:detail", pk=broadcast.pk)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if unscheduled:
                messages.warning(request, UNSCHEDULED_BY_EDIT.format(broadcast=broadcast))
            return redirect("broadcasts:detail", pk=broadcast.pk)
    context = {"form": form, "audience": audience, "broadcast": broadcast}
    if audience.is_valid():  # estimated where counting costs more (a tag of 200,000: 0.3 s)
        context["audience_count"] = paging.how_many(audience.qs)
    return render(request, "broadcasts/broadcast_form.html", context)


@permission_required("broadcasts.add_broadcast", raise_exception=True)
def broadcast_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@permission_required("broadcasts.change_broadcast", raise_exception=True)
def broadcast_edit(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(Broadcast, pk=pk)
    if not broadcast.is_editable:
        messages.error(request, LAUNCHED_NOT_CHANGED)
        return redirect("broadcasts:detail", pk=pk)
    return _edit(request, broadcast)


def _gone(request: HttpRequest, deleted: Exception) -> HttpResponse:
    """A draft deleted since its page was read: nothing changed, and its page is no more."""
    messages.error(request, f"{deleted} Nothing changed.")
    return redirect("broadcasts:list")


def _time_passed(broadcast: Broadcast) -> bool:
    """A draft's send time has passed: launched, it is sent at once (as services.launch does)."""
    return broadcast.send_at is not None and broadcast.send_at <= timezone.now()


# Where the session keeps the number last typed for a test, as typed.
TEST_PHONE = "broadcast_test_phone"


@permission_required("broadcasts.view_broadcast", raise_exception=True)
def broadcast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(Broadcast.objects.select_related("created_by"), pk=pk)
    context = {"broadcast": broadcast, "progress": services.progress(broadcast)}
    if broadcast.channel == Channel.SMS:
        context["sms_text"] = subscriptions.shown(broadcast.sms_text)
        context["has_link"] = subscriptions.PLACEHOLDER in broadcast.body
    else:
        digit = broadcast.unsubscribe_digit
        context["call_opening"] = call_opening(digit)
        context["call_closing"] = f"{reach_us()} {unsubscribe_offer(digit)}"
    if broadcast.is_editable:
        context["preview"] = services.preview(broadcast)
        context["time_passed"] = _time_passed(broadcast)
        # The number last typed (a manager's own, for the next test; or one refused, to mend).
        context["test_form"] = TestSendForm(initial={"phone": request.session.get(TEST_PHONE)})
        context["tests"] = broadcast.tests.select_related("sent_by")
        context["kept"] = services.why_kept(broadcast)
        if broadcast.channel == Channel.SMS:
            # Counted as the form counts it: each link as long as the longest.
            sample = subscriptions.longest_link(broadcast.sms_text)
            context["segments"] = count_segments(sample)
    else:
        context["recipients"] = _recipients_page(broadcast, request.GET)
        after = insights.opt_outs_after(broadcast)
        context["opt_outs_after"] = shown = list(after[:OPT_OUTS_SHOWN])
        context["opt_outs_after_count"] = (
            after.count() if len(shown) == OPT_OUTS_SHOWN else len(shown)
        )
    return render(request, "broadcasts/broadcast_detail.html", context)


# The opt-outs that followed a broadcast listed on its page, the latest first.
OPT_OUTS_SHOWN = 100


@permission_required("broadcasts.view_broadcast", raise_exception=True)
def broadcast_recipients(request: HttpRequest, pk: int) -> HttpResponse:
    """The recipients' table, which the detail page polls while the broadcast sends."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    context = {"broadcast": broadcast, "recipients": _recipients_page(broadcast, request.GET)}
    return render(request, "broadcasts/_recipients.html", context)


RECIPIENTS_PER_PAGE = 50
NUMBER = re.compile(r"\+?[0-9]{1,15}")


@dataclass
class RecipientsPage:
    rows: list[Recipient]
    status: str
    after: str | None  # the number to show the next page after, if there is one
    before: str | None  # and the previous page before


def _recipients_page(broadcast: Broadcast, query) -> RecipientsPage:
    """A page of the broadcast's recipients in number order, after or before a number, of
    one status or all: pages by number go through the index of the broadcast's numbers
    however many there are."""
    status = query.get("status", "")
    if status not in Recipient.Status.values:
        status = ""
    recipients = broadcast.recipients.select_related("contact")
    if status:
        recipients = recipients.filter(status=status)
    size = RECIPIENTS_PER_PAGE
    before, after = _number(query.get("before")), _number(query.get("after"))
    if before:
        rows = list(recipients.filter(phone__lt=before).order_by("-phone")[: size + 1])
        earlier, rows = len(rows) > size, rows[:size][::-1]
        later = recipients.filter(phone__gte=before).exists()
    else:
        rows = list(recipients.filter(phone__gt=after).order_by("phone")[: size + 1])
        later, rows = len(rows) > size, rows[:size]
        earlier = bool(after) and recipients.filter(phone__lte=after).exists()
    left_out = sending.left_out_now(broadcast, rows)
    for row in rows:
        row.left_out = left_out.get(row.pk, "")
    return RecipientsPage(
        rows=rows,
        status=status,
        after=rows[-1].phone if rows and later else None,
        before=rows[0].phone if rows and earlier else None,
    )


def _number(value: str | None) -> str:
    """A number to page from, as a link gives it; anything else is the first page."""
    return value if value and NUMBER.fullmatch(value) else ""


@permission_required("broadcasts.view_broadcast", raise_exception=True)
def broadcast_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment that the detail page polls while sending."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    context = {"broadcast": broadcast, "progress": services.progress(broadcast)}
    response = render(request, "broadcasts/_progress.html", context)
    if request.htmx and broadcast.status not in (
        Broadcast.Status.SENDING,
        Broadcast.Status.SCHEDULED,
    ):
        # Finished while the page watched: reload it, for the recipients and the buttons.
        response["HX-Refresh"] = "true"
    return response


@require_POST
@permission_required("broadcasts.launch_broadcast", raise_exception=True)
def broadcast_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the draft's message to one number, the manager's own, before launching it."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    form = TestSendForm(request.POST)
    request.session[TEST_PHONE] = request.POST.get("phone", "")[: form.fields["phone"].max_length]
    if not form.is_valid():
        messages.error(request, f"No test sent: {form.errors['phone'][0]}")
        return redirect("broadcasts:detail", pk=pk)
    try:
        test = sending.send_test(broadcast, phone=form.cleaned_data["phone"], by_user=request.user)
    except sending.NotSent as error:
        messages.error(request, f"No test sent: {error}")
        if not Broadcast.objects.filter(pk=pk).exists():
            return redirect("broadcasts:list")
        return redirect("broadcasts:detail", pk=pk)
    if test.error:
        messages.error(request, f"The test to {format_phone(test.phone)} failed: {test.error}")
    else:
        messages.success(request, f"Test sent to {format_phone(test.phone)}.")
    return redirect("broadcasts:detail", pk=pk)


@permission_required("broadcasts.launch_broadcast", raise_exception=True)
def broadcast_launch(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: confirm, with the number it will reach. POST: launch."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    if broadcast.status != Broadcast.Status.DRAFT:
        messages.error(request, LAUNCHED_ALREADY)
        return redirect("broadcasts:detail", pk=pk)
    if words := broadcast.reads_as_marketing():
        messages.error(request, READS_AS_MARKETING.format(words=words))
        return redirect("broadcasts:edit", pk=pk)
    if why := broadcast.cannot_be_placed():
        messages.error(request, f"Not launched. {why}")
        return redirect("broadcasts:detail", pk=pk)
    if request.method == "POST":
        confirmed = request.POST.get("confirmed", "")
        try:
            services.launch(broadcast=broadcast, by_user=request.user, confirmed=confirmed)
        except services.NotEditable:  # by someone else, since this page read it
            messages.error(request, LAUNCHED_ALREADY)
            return redirect("broadcasts:detail", pk=pk)
        except services.ReadsAsMarketing as refused:  # edited so since this page read it
            messages.error(request, str(refused))
            return redirect("broadcasts:edit", pk=pk)
        except services.ChangedSinceConfirmed:
            messages.error(request, CHANGED_SINCE_CONFIRMED)
            return redirect("broadcasts:launch", pk=pk)
        except services.Deleted as deleted:
            return _gone(request, deleted)
        broadcast.refresh_from_db()
        if broadcast.status == Broadcast.Status.SCHEDULED:
            when = format_time(broadcast.send_at)
            messages.success(request, f"“{broadcast}” will be sent on {when}.")
        else:
            messages.success(request, f"“{broadcast}” is being sent.")
        return redirect("broadcasts:detail", pk=pk)
    context = {
        "broadcast": broadcast,
        "preview": services.preview(broadcast),
        "time_passed": _time_passed(broadcast),
        "confirmed": services.confirmation(broadcast),
        "sms_text": subscriptions.shown(broadcast.sms_text),
    }
    return render(request, "broadcasts/launch_confirm.html", context)


@permission_required("broadcasts.cancel_broadcast", raise_exception=True)
def broadcast_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: confirm, with what cancelling stops. POST: cancel."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    if request.method != "POST":
        if broadcast.status not in (Broadcast.Status.SENDING, Broadcast.Status.SCHEDULED):
            messages.info(request, f"“{broadcast}” is not being sent: nothing to cancel.")
            return redirect("broadcasts:detail", pk=pk)
        context = {
            "broadcast": broadcast,
            "waiting": services.cancellable_count(broadcast),
            "in_a_batch": services.claimed_when_cancelled(broadcast),
        }
        return render(request, "broadcasts/cancel_confirm.html", context)
    try:
        stopped = services.cancel(broadcast=broadcast)
    except services.Deleted as deleted:
        return _gone(request, deleted)
    if stopped is None:  # it ended, or was unscheduled, since the page was read
        broadcast.refresh_from_db(fields=["status"])
        if broadcast.status in (Broadcast.Status.DONE, Broadcast.Status.CANCELLED):
            now = f"is {broadcast.get_status_display().lower()} already"
        else:
            now = "is not being sent"
        messages.info(request, f"“{broadcast}” {now}: nothing to cancel.")
        return redirect("broadcasts:detail", pk=pk)
    stopped_words = f"{stopped:,} message{pluralize(stopped)} will not be sent"
    if held := services.claimed_when_cancelled(broadcast):
        stopped_words += (
            f"; {held:,} {pluralize(held, 'was,were')} in a batch being sent: those not handed "
            "over yet will not be sent either"
        )
    messages.success(request, f"“{broadcast}” cancelled; {stopped_words}.")
    return redirect("broadcasts:detail", pk=pk)


@permission_required("broadcasts.delete_broadcast", raise_exception=True)
def broadcast_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: confirm. POST: delete the draft, unless it was launched or tested since."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    if request.method == "POST":
        try:
            services.delete_draft(broadcast=broadcast)
        except services.Kept as refused:
            messages.error(request, f"Not deleted. {refused}")
            return redirect("broadcasts:detail", pk=pk)
        except services.Deleted as deleted:  # a second click
            messages.info(request, f"{deleted}")
            return redirect("broadcasts:list")
        messages.success(request, f"The draft “{broadcast}” was deleted.")
        return redirect("broadcasts:list")
    context = {"broadcast": broadcast, "kept": services.why_kept(broadcast)}
    return render(request, "broadcasts/delete_confirm.html", context)


@require_POST
@permission_required("broadcasts.change_broadcast", raise_exception=True)
def broadcast_unschedule(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(Broadcast, pk=pk)
    if services.unschedule(broadcast=broadcast):
        messages.success(request, f"“{broadcast}” is a draft again: it will not be sent.")
    elif not Broadcast.objects.filter(pk=pk).exists():
        return _gone(request, services.Deleted(f"“{broadcast}” was deleted."))
    else:  # its time came, or someone cancelled or unscheduled it, since the page was read
        messages.error(request, f"“{broadcast}” is not scheduled: nothing changed.")
    return redirect("broadcasts:detail", pk=pk)


INSIGHTS = ["contacts.view_contact", "broadcasts.view_broadcast"]


@permission_required(INSIGHTS, raise_exception=True)
def insights_page(request: HttpRequest) -> HttpResponse:
    """Opt-in health at a glance: each chart with its numbers beside it."""
    chosen = InsightsRange(request.GET or None)
    first, last = chosen.days()
    counted_at, reach = insights.reach()
    days = insights.opt_outs_by_day(first, last)
    outcomes = insights.broadcast_outcomes(*_moments(first, last))
    waiting = insights.waiting()
    context = {
        "range": chosen,
        "first": first,
        "last": last,
        "query": urlencode({"first": first.isoformat(), "last": last.isoformat()}),
        "presets": [(label, _last_days(n)) for label, n in INSIGHTS_PRESETS],
        "counted_at": counted_at,
        "recount_minutes": round(settings.REACH_COUNT_SECONDS / 60),
        "reach": [
            (channel, _with_shares(groups), charts.reach(channel.label, groups))
            for channel, groups in reach.items()
        ],
        "days": days,
        "days_with_changes": [day for day in days if day.total or day.resubscribed],
        "sources": insights.SOURCES,
        "totals": [
            (key, label, sum(day.opt_outs[key] for day in days))
            for key, label in insights.SOURCES.items()
        ],
        "resubscribed": sum(day.resubscribed for day in days),
        "opt_outs_chart": charts.opt_outs(days),
        "outcomes": outcomes,
        "rates_chart": charts.rates(outcomes) if outcomes else "",
        "flag_percent": settings.OPT_OUT_RATE_FLAG_PERCENT,
        "waiting": waiting,
        "waiting_days": business_days_between(waiting.oldest, timezone.now())
        if waiting.oldest
        else None,
    }
    return render(request, "broadcasts/insights.html", context)


def _with_shares(groups: list[insights.Group]) -> list[tuple[insights.Group, str]]:
    """Each group with its share of every contact, as a percentage with one decimal."""
    everyone = sum(group.contacts for group in groups)
    return [(group, f"{group.contacts / everyone:.1%}" if everyone else "—") for group in groups]


INSIGHTS_PRESETS = [("Last 30 days", 30), ("Last 90 days", 90), ("Last year", 365)]


def _last_days(n: int) -> str:
    today = timezone.localdate()
    return urlencode({"first": (today - timedelta(days=n - 1)).isoformat(), "last": today})


def _moments(first: date, last: date) -> tuple[datetime, datetime]:
    """The start of `first` and the end of `last`, in the site's zone."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(first, time.min, zone),
        datetime.combine(last + timedelta(days=1), time.min, zone),
    )


@permission_required(INSIGHTS, raise_exception=True)
def insights_csv(request: HttpRequest, chart: str) -> HttpResponse:
    """One chart's numbers as CSV, for the range the page shows."""
    if chart not in CSV_TABLES:
        raise Http404("No such chart.")
    first, last = InsightsRange(request.GET or None).days()
    header, rows = CSV_TABLES[chart](first, last)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{chart}-{first}-{last}.csv"'
    writer = csv.writer(response, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(str(cell)) for cell in row])
    return response


def _reach_table(first: date, last: date) -> tuple[list[str], list[list]]:
    counted_at, reach = insights.reach()
    counted = timezone.localtime(counted_at).isoformat(timespec="seconds")
    rows = [
        [channel.label, group.label, group.contacts, counted]
        for channel, groups in reach.items()
        for group in groups
    ]
    return ["channel", "group", "contacts", "counted at"], rows


def _opt_outs_table(first: date, last: date) -> tuple[list[str], list[list]]:
    rows = [
        [day.day.isoformat(), *day.opt_outs.values(), day.resubscribed]
        for day in insights.opt_outs_by_day(first, last)
    ]
    return ["day", *insights.SOURCES.values(), insights.RESUBSCRIBED], rows


def _broadcasts_table(first: date, last: date) -> tuple[list[str], list[list]]:
    rows = [
        [
            o.broadcast.name,
            o.broadcast.pk,
            o.broadcast.get_channel_display(),
            timezone.localtime(o.broadcast.launched_at).isoformat(timespec="seconds"),
            o.sent,
            o.delivered,
            o.failed,
            o.opt_outs,
            "" if o.rate is None else f"{o.rate * 100:.2f}",
        ]  # fmt: skip
        for o in insights.broadcast_outcomes(*_moments(first, last))
    ]
    header = ["broadcast", "id", "channel", "launched", "sent", "delivered", "failed",
              "opt-outs", "opt-out rate (%)"]  # fmt: skip
    return header, rows


CSV_TABLES = {"reach": _reach_table, "opt-outs": _opt_outs_table, "broadcasts": _broadcasts_table}
