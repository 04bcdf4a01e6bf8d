"""The pages staff use: the possible opt-outs to review, and the console backend's outbox."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts import services
from contacts.models import Channel, Source
from messaging.models import OutboundMessage, PossibleOptOut


@permission_required("contacts.view_contact", raise_exception=True)
def possible_opt_outs(request: HttpRequest) -> HttpResponse:
    pending = PossibleOptOut.objects.filter(decision=PossibleOptOut.Decision.PENDING)
    decided = PossibleOptOut.objects.exclude(decision=PossibleOptOut.Decision.PENDING)
    context = {
        "pending": pending.order_by("received_at", "id")[:200],
        "decided": decided.select_related("decided_by")[:50],
        "can_decide": request.user.has_perm("contacts.change_subscription"),
    }
    return render(request, "messaging/possible_opt_outs.html", context)


@require_POST
@permission_required("contacts.change_subscription", raise_exception=True)
def decide_possible_opt_out(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm: a hard SMS opt-out with the contact's own words. Dismiss: nothing changes."""
    review = get_object_or_404(PossibleOptOut, pk=pk)
    decision = request.POST.get("decision")
    if decision not in (PossibleOptOut.Decision.CONFIRMED, PossibleOptOut.Decision.DISMISSED):
        return HttpResponseBadRequest("Choose confirmed or dismissed.")
    # Compare-and-set: of two people deciding at once, only the first one counts.
    decided = PossibleOptOut.objects.filter(pk=pk, decision=PossibleOptOut.Decision.PENDING).update(
        decision=decision, decided_by=request.user, decided_at=timezone.now()
    )
    if not decided:
        messages.info(request, f"{review.phone}: already decided.")
    elif decision == PossibleOptOut.Decision.CONFIRMED:
        services.record_hard_opt_out(
            phone=review.phone, channel=Channel.SMS, source=Source.KEYWORD, words=review.words
        )
        messages.success(request, f"{review.phone}: opted out of SMS (hard), in their words.")
    else:
        messages.success(request, f"{review.phone}: dismissed; nothing changed.")
    return redirect("messaging:possible_opt_outs")


@permission_required("contacts.view_contact", raise_exception=True)
def outbox(request: HttpRequest) -> HttpResponse:
    """What the console backend sent, newest first."""
    return render(request, "messaging/outbox.html", {"sent": OutboundMessage.objects.all()[:200]})
