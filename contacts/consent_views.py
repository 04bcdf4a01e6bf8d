"""Consent on record: what a user records for a contact, a contact's request to stop told to
staff, and the disclosures contacts see."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from contacts import evidence, services
from contacts.forms import ConsentForm, DisclosureForm, RequestToStopForm, RevisionForm
from contacts.models import (
    Channel,
    Contact,
    Disclosure,
    OptOut,
    PhoneOptOut,
    Source,
    channels_in_words,
)


@require_http_methods(["GET", "POST"])
@permission_required("contacts.add_consentrecord", raise_exception=True)
def record_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Record consent a contact gave to one channel or both; it lifts no opt-out."""
    contact = get_object_or_404(Contact, pk=pk)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        awaiting = data["confirm_by_text"]
        try:
            with transaction.atomic():
                for channel in data["channels"]:
                    services.record_consent(
                        phone=contact.phone, channel=channel, method=data["method"],
                        given_at=form.given_at(), by_user=request.user,
                        disclosure=data["disclosure"], words=data["note"], contact=contact,
                        awaiting=awaiting,
                    )  # fmt: skip
        except ValidationError:
            form.add_error(None, "The contact has no valid phone number: fix it first.")
        else:
            labels = channels_in_words(data["channels"])
            if awaiting:
                asked = services.ask_to_confirm(contact.phone, data["channels"])
                messages.success(
                    request,
                    f"{contact.name}: consent to {labels} recorded, awaiting confirmation. {asked}",
                )
            else:
                messages.success(request, f"{contact.name}: consent to {labels} recorded.")
            opted_out = OptOut.objects.filter(contact=contact, channel__in=data["channels"])
            for opt_out in opted_out:
                messages.warning(request, _still_opted_out(opt_out))
            return redirect(contact)
    return render(request, "contacts/consent_form.html", {"contact": contact, "form": form})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.record_request_to_stop", raise_exception=True)
def record_request_to_stop(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact asked a staff member to stop, by a call, in person or in writing: any
    reasonable means revokes consent. Recorded as their own revocation of the number (hard,
    which only the contact's new consent lifts), with their words and who heard them."""
    contact = get_object_or_404(Contact, pk=pk)
    form = RequestToStopForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        heard = f"told {request.user.get_username()} {data['how']}"
        covered: set[Channel] = set()
        before = set(
            PhoneOptOut.objects.filter(phone=contact.phone).values_list("channel", flat=True)
        )
        try:
            with transaction.atomic():
                for channel in data["channels"]:
                    covered |= set(
                        services.record_revocation(
                            phone=contact.phone,
                            channel=channel,
                            source=Source.TOLD,
                            words=data["words"],
                            matched=heard,
                        )  # fmt: skip
                    )
        except ValidationError as refused:
            form.add_error(None, refused.messages[0])
        else:
            if new := covered - before:
                messages.success(
                    request,
                    f"{contact.phone_display} opted out of {channels_in_words(new)} (hard), "
                    "in their words: only their own new consent lifts it.",
                )
            if again := covered & before:
                messages.info(
                    request,
                    f"{contact.phone_display} had opted out of {channels_in_words(again)} already "
                    "(hard); this request is kept in the number's history too, in their words.",
                )
            return redirect(contact)
    sharers = Contact.objects.filter(phone=contact.phone).exclude(pk=contact.pk).order_by("name")
    context = {"contact": contact, "form": form, "sharers": list(sharers[:10])}
    return render(request, "contacts/request_to_stop.html", context)


def _still_opted_out(opt_out: OptOut) -> str:
    if opt_out.is_hard:
        return f"{opt_out.message} (hard) still: {opt_out.ends_when}"
    return f"{opt_out.message} (soft) still: resubscribe the contact if they asked for it."


@permission_required("contacts.view_contact", raise_exception=True)
def disclosure_list(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/disclosure_list.html", {"disclosures": Disclosure.current()})


@permission_required("contacts.view_contact", raise_exception=True)
def disclosure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One version of a disclosure, as contacts saw it, with the others of its title."""
    disclosure = get_object_or_404(Disclosure.objects.select_related("created_by"), pk=pk)
    versions = Disclosure.objects.filter(title=disclosure.title).order_by("-version")
    context = {
        "disclosure": disclosure,
        "versions": versions,
        "consents": disclosure.consents.count(),
    }
    return render(request, "contacts/disclosure_detail.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("contacts.add_disclosure", raise_exception=True)
def new_disclosure(request: HttpRequest) -> HttpResponse:
    form = DisclosureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        try:
            with transaction.atomic():
                disclosure = form.save()
        except IntegrityError:  # the same title, added meanwhile
            form.add_error("title", "A disclosure has this title: edit it to add a version.")
        else:
            messages.success(request, f"{disclosure}: added.")
            return redirect("contacts:disclosure", pk=disclosure.pk)
    return render(request, "contacts/disclosure_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.add_disclosure", raise_exception=True)
def revise_disclosure(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a disclosure: its next version, the one it was leaves as it was."""
    disclosure = get_object_or_404(Disclosure, pk=pk)
    form = RevisionForm(request.POST or None, initial={"text": disclosure.text})
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                revised = disclosure.revise(form.cleaned_data["text"], request.user)
        except IntegrityError:  # another version was added meanwhile, with the same number
            form.add_error(None, "Someone added a version just now: look at it, then edit.")
        else:
            messages.success(
                request, f"{revised}: added. Consent given to earlier versions keeps their words."
            )
            return redirect("contacts:disclosure", pk=revised.pk)
    context = {"form": form, "disclosure": disclosure}
    return render(request, "contacts/disclosure_form.html", context)


@permission_required("contacts.view_contact", raise_exception=True)
def number_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """The evidence file of the contact's number (contacts.evidence), as a page that prints
    well, or with ?format=json, as a file to download."""
    contact = get_object_or_404(Contact, pk=pk)
    data = evidence.for_number(contact.phone)
    if request.GET.get("format") == "json":
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        name = f"evidence-{re.sub(r'[^0-9]', '', contact.phone) or contact.pk}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(request, "contacts/evidence.html", {"contact": contact, "evidence": data})
