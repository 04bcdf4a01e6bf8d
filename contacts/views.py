import copy
import re
from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_filters.views import FilterView
from django_htmx.http import HttpResponseClientRefresh
from django_tables2 import SingleTableMixin

from contacts import (
    bulk,
    imports,
    paging,
    places,
    quiet_hours,
    reassigned,
    services,
    signals,
    subscriptions,
)
from contacts.csv_export import csv_lines
from contacts.filters import ContactFilter
from contacts.forms import (
    BULK_ACTIONS,
    TAG_ACTIONS,
    BulkActionForm,
    ContactForm,
    ImportColumnsForm,
    ImportForm,
    SubscriptionForm,
    action_in_words,
    bulk_actions_for,
    filters_in_words,
    replies_to_read_first,
)
from contacts.models import (
    VALID_PHONE,
    BulkJob,
    Channel,
    ChannelFilter,
    ConsentEvent,
    ConsentRecord,
    Contact,
    ContactImport,
    ContactQuerySet,
    ContactTablePreference,
    HardOptOutError,
    ImportProblem,
    ImportRow,
    OptInStatus,
    OptOut,
    PhoneOptOut,
    ReassignedNumber,
    Tag,
    load_consent,
)
from contacts.tables import DEFAULT_PAGE_SIZE, PAGE_SIZES, ContactTable


def _contacts() -> ContactQuerySet:
    # With their opt-outs (and who made them) and tags: the contact page and the Opt-In cell
    # that htmx swaps. The table's pages use load_consent.
    return Contact.objects.with_consent()


def _next(request: HttpRequest, default: str) -> str:
    """Where to return after an action: the page it came from, if it is one of ours."""
    target = request.POST.get("next") or request.GET.get("next")
    # A path: redirect() takes anything else without a slash ("abc") for a URL's name.
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return default


class ContactListView(PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = "contacts.view_contact"
    raise_exception = True
    table_class = ContactTable
    filterset_class = ContactFilter
    template_name = "contacts/contact_list.html"
    # django-tables2 orders the rows; contacts.paging pages them by their sort keys.
    table_pagination = False

    def get_queryset(self):
        return Contact.objects.all()  # the page's rows get their consent by load_consent

    def get_filterset_kwargs(self, filterset_class):
        # Every tag, read once: the Tag filter's choices, the rows' tags, the bulk bar's.
        tags = list(Tag.objects.order_by("name"))
        return super().get_filterset_kwargs(filterset_class) | {"tags": tags}

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if self.filterset.searches_phones and "sort" not in self.request.GET:
            table.order_by = ("phone",)  # part of a number: the nearest numbers first
        if len(table.order_by) > 1:  # an address with sort=…&sort=…: the table has one
            table.order_by = table.order_by[:1]
        for name in ContactTablePreference.hidden_for(self.request.user):
            if name in ContactTable.hideable:
                table.columns.hide(name)
        if not bulk_actions_for(self.request.user):
            table.columns.hide("selection")  # nothing to do with a selection
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = context["table"]
        per_page = self.request.GET.get("per_page", "")
        per_page = int(per_page) if per_page in map(str, PAGE_SIZES) else DEFAULT_PAGE_SIZE
        fetch = self.filterset.fetch()
        page = paging.paginate(table.data.data, self.request.GET, per_page, fetch=fetch)
        if page.problem:
            messages.warning(self.request, f"{page.problem} Here is the first page.")
        tags = self.filterset.tags
        load_consent(page.rows, tags)
        context |= {
            "visible": table.visible,
            "columns": [(name, table.columns[name].header) for name in ContactTable.hideable],
            "page": page,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "can_change": self.request.user.has_perm("contacts.change_subscription"),
            "next": self.request.get_full_path(),
            # The tag actions only where there are tags to choose.
            "bulk_actions": [
                (name, label)
                for name, label in bulk_actions_for(self.request.user)
                if tags or name not in TAG_ACTIONS
            ],
            "tag_actions": TAG_ACTIONS,
            "tags": tags,
            "opt_in_menus": _opt_in_menus(self.request.GET),
        }
        return context


def _opt_in_menus(query: QueryDict) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """The Opt-In Status header's menu: each channel's filter choices, as links (label, query
    string, whether it is the current one) that keep the table's other filters and sort."""
    menus = []
    for channel in Channel:
        links = []
        for value, label in [("", "Any"), *ChannelFilter.choices]:
            linked = query.copy()
            for key in ("page", "after", "before", channel.value):
                linked.pop(key, None)
            if value:
                linked[channel.value] = value
            links.append((label, linked.urlencode(), query.get(channel.value, "") == value))
        menus.append((channel.label, links))
    return menus


@require_POST
@permission_required("contacts.view_contact", raise_exception=True)
def save_columns(request: HttpRequest) -> HttpResponse:
    """Remember which columns of the Contacts table this user shows."""
    shown = set(request.POST.getlist("show"))
    hidden = [name for name in ContactTable.hideable if name not in shown]
    ContactTablePreference.objects.update_or_create(
        user=request.user, defaults={"hidden_columns": hidden}
    )
    return redirect(_next(request, reverse("contacts:list")))


@require_POST
@permission_required("contacts.change_subscription", raise_exception=True)
def change_subscription(request: HttpRequest, pk: int) -> HttpResponse:
    """Unsubscribe (soft) or resubscribe one channel; htmx gets the Opt-In cell back."""
    contact = get_object_or_404(Contact, pk=pk)
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Choose a channel and an action (unsubscribe or resubscribe)."
        )
    channel, action = form.cleaned_data["channel"], form.cleaned_data["action"]
    try:
        if action == "unsubscribe":
            services.unsubscribe(contact=contact, channel=channel, by_user=request.user)
            message, level = f"{contact.name}: unsubscribed from {channel.label}.", messages.SUCCESS
        else:
            services.resubscribe(contact=contact, channel=channel, by_user=request.user)
            message, level = f"{contact.name}: resubscribed to {channel.label}.", messages.SUCCESS
    except HardOptOutError as error:
        message, level = error.message, messages.ERROR
    next_url = _next(request, reverse("contacts:detail", args=[pk]))
    if request.htmx and form.cleaned_data["words"]:
        # The contact's page: its history and consent change too, so all of it is read again.
        messages.add_message(request, level, message)
        return HttpResponseClientRefresh()
    if request.htmx:
        context = {
            "contact": _contacts().get(pk=pk),
            "can_change": True,
            "next": next_url,
            "message": message,
            "words": form.cleaned_data["words"],
        }
        return render(request, "contacts/_opt_in.html", context)
    messages.add_message(request, level, message)
    return redirect(next_url)


def _saved(request: HttpRequest, contact: Contact, form: ContactForm) -> bool:
    """Save the contact page's edit of `contact`, unless a reply of the number it leaves came
    while the form was checked (replies_to_read_first, asked again under the numbers' locks,
    which a batch handing messages to them holds meanwhile): then the form says so."""
    with transaction.atomic():
        # A status that holds the number back waits, as an opt-out does, for a hand-over to
        # it (services.unsubscribe); a new number, for a STOP or START of either.
        services.lock_numbers([contact.phone, form.instance.phone])
        moved = form.instance.phone != contact.phone
        if moved and (refusal := replies_to_read_first(contact, contact.phone)):
            form.add_error(None, refusal)
            return False
        form.save()
        services.keep_status_change(
            form.instance, contact.status, by_user=request.user, how="edited on the contact's page"
        )
    return True


@permission_required("contacts.view_contact", raise_exception=True)
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(_contacts(), pk=pk)
    form = None
    if request.user.has_perm("contacts.change_contact"):
        # A copy: an edit that is not saved must not show in the Details beside it.
        form = ContactForm(request.POST or None, instance=copy.copy(contact))
        if request.method == "POST" and form.is_valid() and _saved(request, contact, form):
            messages.success(request, f"{form.instance.name}: saved.")
            if contact.status != Contact.Status.ACTIVE == form.instance.status:
                messages.info(request, f"{form.instance.name} is active again: broadcasts "
                                       "may reach them.")  # fmt: skip
            return redirect("contacts:detail", pk=pk)
    elif request.method == "POST":
        raise PermissionDenied
    # The contact's own history: every change of its numbers reached it with a row of its own.
    timeline = ConsentEvent.objects.filter(contact=contact).select_related("actor")
    consents = list(
        ConsentRecord.objects.filter(phone=contact.phone).select_related(
            "disclosure", "recorded_by", "contact"
        )
    )
    reassigned = ReassignedNumber.objects.filter(phone=contact.phone).first()
    awaiting = any(record.status == ConsentRecord.Status.AWAITING for record in consents)
    prompt = awaiting and services.prompt_of(contact.phone)
    now = timezone.now()
    held, quiet_hours_now = _held_by_others(contact), _quiet_hours_now(contact, now)
    context = {
        "contact": contact,
        "form": form,
        "timeline": timeline[:200],
        "status_changes": contact.status_changes.select_related("by")[:50],
        "consents": consents,
        "prompt": prompt and prompt.in_words(now),
        "reassigned": reassigned,
        "consented_since": reassigned
        and [
            record
            for record in consents
            if record.status == ConsentRecord.Status.CONFIRMED
            and record.given_at > reassigned.reported_at
        ],  # fmt: skip
        "local_time": places.in_words(contact.phone, contact.time_zone, contact.state),
        "clock": places.clocks_now(contact.phone, contact.time_zone, now),
        # Nothing said of quiet hours where another contact holds the number from everything.
        "quiet_hours_now": "" if any(not channel for *_, channel in held) else quiet_hours_now,
        "held_by_others": held,
        "notes": [
            note
            for _, notes in signals.notes_wanted.send(sender=Contact, contact=contact)
            for note in notes
        ],
        "subscriptions_link": _subscriptions_link(request, contact),
        "link_days": settings.SUBSCRIPTION_LINK_DAYS,
        "can_change": request.user.has_perm("contacts.change_subscription"),
        "next": request.get_full_path(),
    }
    return render(request, "contacts/contact_detail.html", context)


def _quiet_hours_now(contact: Contact, now: datetime) -> str:
    """Whether a broadcast may reach the contact's number now, by the quiet hours of every
    contact of it, as the send decides; "" while quiet hours are off, the number is not
    valid, or no broadcast reaches the contact (not active, or opted out of every channel)."""
    if not quiet_hours.enforced() or not re.match(VALID_PHONE, contact.phone):
        return ""
    if contact.status != Contact.Status.ACTIVE or all(
        contact.opt_in_status(channel) != OptInStatus.SUBSCRIBED for channel in Channel
    ):
        return ""
    waits_for = quiet_hours.places_of(contact.phone)
    said = quiet_hours.now_in_words(waits_for, now)
    number = places.place_of_number(contact.phone)
    its_own = places.place_of(contact.phone, contact.time_zone, contact.state)
    if any(place not in (its_own, number) for place in waits_for):
        said += " Other contacts of this number say other places: broadcasts wait for each."
    elif len(waits_for) > 1:
        said += f" Its area code is in {number.state}: broadcasts keep that state's hours too."
    return said


def _held_by_others(contact: Contact) -> list[tuple[Contact, str, str]]:
    """The other contacts of the number who hold it back from broadcasts (opted out by the
    business, or marked "Do not contact": broadcasts.policy.HELD_BY_ANOTHER), each with why
    and what no broadcast reaches it with: ("is opted out of SMS (soft)", "SMS"); "" for
    every channel."""
    others = (
        Contact.objects.filter(phone=contact.phone)
        .exclude(pk=contact.pk)
        .exclude(status=Contact.Status.ARCHIVED)
        .prefetch_related("opt_outs")
        .order_by("name", "pk")
    )
    held = []
    for other in others:
        soft = {o.channel for o in other.opt_outs.all() if o.kind == OptInStatus.SOFT}
        labels = [channel.label for channel in Channel if channel in soft]
        if other.status == Contact.Status.DO_NOT_CONTACT:
            held.append((other, "is marked “Do not contact”", ""))
        elif labels:
            why = f"is opted out of {' and '.join(labels)} (soft)"
            held.append((other, why, "" if len(labels) == len(Channel) else labels[0]))
    return held


def _subscriptions_link(request: HttpRequest, contact: Contact) -> str:
    """The address of the contact's own subscriptions page, at the address the user reached
    the app by, for a valid number only."""
    if not re.match(VALID_PHONE, contact.phone):
        return ""
    return request.build_absolute_uri(subscriptions.link(contact.phone))


@permission_required("contacts.add_contact", raise_exception=True)
def new_contact(request: HttpRequest) -> HttpResponse:
    """The edit form, for a contact not there yet; a number that has opted out (hard) is
    saved only after the same warning, and the new contact inherits its opt-outs."""
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():  # the contact with its tags, or nothing
            contact = form.save()
        messages.success(request, f"{contact.name}: created.")
        return redirect(contact)
    return render(request, "contacts/contact_new.html", {"form": form})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.delete_contact", raise_exception=True)
def delete_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask first, saying what goes and what stays; only a POST deletes."""
    contact = get_object_or_404(_contacts(), pk=pk)
    if request.method == "POST":
        services.delete_contact(contact=contact)
        messages.success(
            request,
            f"{contact.name}, {contact.phone_display}: deleted. The number's opt-outs and the "
            "consent history are kept.",
        )
        return redirect("contacts:list")
    number_opt_outs = PhoneOptOut.objects.filter(phone=contact.phone)
    context = {
        "contact": contact,
        "number_opt_outs": sorted(number_opt_outs, key=lambda o: Channel.values.index(o.channel)),
        "soft_opt_outs": [o for o in contact.opt_out_list if o.kind == OptOut.SOFT],
        "history": ConsentEvent.objects.filter(contact=contact).count(),
    }
    return render(request, "contacts/contact_delete.html", context)


@require_POST
@permission_required("contacts.view_contact", raise_exception=True)
def bulk_action(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected contacts or to all those matching the filters.

    Each action is a few set-based statements, whatever the number of contacts. An action on
    all matching contacts is confirmed first, with their number.
    """
    back = _next(request, reverse("contacts:list"))
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    action = form.cleaned_data["action"]
    if not request.user.has_perm(BULK_ACTIONS[action].permission):
        raise PermissionDenied
    contacts = form.chosen_contacts()
    if action == "export":
        return _export(request, form, contacts, back)
    if action == "check_reassigned":
        try:
            messages.success(request, str(reassigned.check(contacts, by_user=request.user)))
        except reassigned.CheckRefused as refused:
            messages.error(request, str(refused))
        return redirect(back)
    tag = form.cleaned_data["tag"]
    if form.cleaned_data["scope"] == "all" and not form.cleaned_data["confirmed"]:
        doing = action_in_words(action, tag)
        context = {
            "form": form,
            "doing": doing,
            "yes": f"Yes, {doing[0].lower()}{doing[1:]}",  # the channel's name as it is
            "count": contacts.count(),
            "filters": filters_in_words(form.filters),
            "back": back,
        }
        return render(request, "contacts/bulk_confirm.html", context)
    if form.cleaned_data["scope"] == "all":
        count = contacts.count()
        if bulk.too_many_to_wait_for(count):
            job = bulk.queue(action=action, query=form.cleaned_data["query"], tag=tag,
                             user=request.user, count=count)  # fmt: skip
            return redirect(f"{reverse('contacts:bulk_job', args=[job.pk])}?next={quote(back)}")
    messages.success(request, bulk.apply(action, contacts, tag, request.user))
    return redirect(back)


def _export(request: HttpRequest, form, contacts, back: str) -> HttpResponse:
    """The contacts' CSV file: at once for a few, or, for all those matching the filters when
    they are many, written by a task, whose page offers the file when it is ready."""
    if form.cleaned_data["scope"] == "all":
        count = contacts.count()
        if bulk.too_many_to_wait_for(count):
            job = bulk.queue(action="export", query=form.cleaned_data["query"], tag=None,
                             user=request.user, count=count)  # fmt: skip
            return redirect(f"{reverse('contacts:bulk_job', args=[job.pk])}?next={quote(back)}")
    return StreamingHttpResponse(
        csv_lines(contacts),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{EXPORT_FILE_NAME}"'},
    )


EXPORT_FILE_NAME = "contacts.csv"


def _own_job(request: HttpRequest, pk: int) -> BulkJob:
    """The bulk job `pk`, if the user may see it: its filters and result are someone's work on
    the contacts, for them and Admins only. 403 as everywhere else a role falls short; the ids
    count up, so hiding one hides nothing."""
    job = get_object_or_404(BulkJob.objects.select_related("tag", "by_user"), pk=pk)
    if job.by_user_id != request.user.pk and not request.user.has_perm("contacts.view_bulkjob"):
        raise PermissionDenied
    return job


@permission_required("contacts.export_contact", raise_exception=True)
def export_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The file an export job wrote, streamed a piece at a time from the database."""
    job = _own_job(request, pk)
    if not bulk.file_kept(job):
        raise Http404("No such file: the export is not finished, or its file was deleted.")
    return StreamingHttpResponse(
        bulk.file_pieces(job),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{EXPORT_FILE_NAME}"'},
    )


@permission_required("contacts.view_contact", raise_exception=True)
def bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    """How a bulk action run as a task is going; htmx asks again until it is finished."""
    job = _own_job(request, pk)
    status = {
        "job": job,
        "keep_days": settings.EXPORT_KEEP_DAYS,
        "file_kept": bulk.file_kept(job),
        "may_download": request.user.has_perm("contacts.export_contact"),
    }
    if request.htmx:
        return render(request, "contacts/_bulk_job_status.html", status)
    filters = ContactFilter(QueryDict(job.query), queryset=Contact.objects.none())
    context = {
        "job": job,
        "label": BULK_ACTIONS[job.action].label if job.action in BULK_ACTIONS else job.action,
        "filters": filters_in_words(filters)
        if filters.is_valid()
        else "matching filters that are not valid any more",
        "back": _next(request, reverse("contacts:list")),
    } | status
    return render(request, "contacts/bulk_job.html", context)


@permission_required("contacts.import_contacts", raise_exception=True)
def import_contacts(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file; its page shows every row checked before anything is written."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_import = imports.store(form.cleaned_data["file"], by_user=request.user)
        except imports.ImportFileError as error:
            form.add_error("file", str(error))
        else:
            if contact_import.status == ContactImport.Status.MATCHING:
                return redirect("contacts:import_columns", contact_import.pk)
            _check(contact_import)
            return redirect(contact_import)
    recent = ContactImport.objects.filter(by_user=request.user).order_by("-created_at")[:5]
    return render(request, "contacts/import.html", {"form": form, "recent": recent})


def _check(contact_import: ContactImport) -> None:
    if contact_import.size <= imports.INLINE_BYTES:
        imports.check(contact_import)
    else:
        imports.check_import.enqueue(contact_import.pk)


@require_http_methods(["GET", "POST"])
@permission_required("contacts.import_contacts", raise_exception=True)
def import_columns(request: HttpRequest, pk: int) -> HttpResponse:
    """Match the columns of a file whose header does not name its fields, then check it."""
    contact_import = _own_import(request, pk)
    if contact_import.status != ContactImport.Status.MATCHING:
        return redirect(contact_import)  # matched already, in another tab
    columns = imports.sample(contact_import)
    form = ImportColumnsForm(request.POST or None, columns=columns)
    if request.method == "POST" and form.is_valid():
        if imports.set_columns(contact_import, form.cleaned_data["column_fields"]):
            _check(contact_import)
        return redirect(contact_import)
    unsure = imports.unsure_columns([header for header, _ in columns])
    context = {"import": contact_import, "form": form, "unsure": unsure}
    return render(request, "contacts/import_columns.html", context)


# An import's page lists this many of its problems.
PROBLEMS_SHOWN = 100


def _own_import(request: HttpRequest, pk: int) -> ContactImport:
    # Another user's file is none of this user's business, not even that it exists.
    imports_seen = ContactImport.objects.all()
    if not request.user.is_superuser:
        imports_seen = imports_seen.filter(by_user=request.user)
    return get_object_or_404(imports_seen, pk=pk)


def _with_rows(contact_import: ContactImport, problems) -> list[ImportProblem]:
    """`problems`, each with the `import_row` it was found in (its name and number)."""
    problems = list(problems)
    rows = ImportRow.objects.filter(
        contact_import=contact_import, number__in=[problem.row for problem in problems]
    )
    by_number = {row.number: row for row in rows}
    for problem in problems:
        problem.import_row = by_number.get(problem.row)
    return problems


@permission_required("contacts.import_contacts", raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's check, then its progress; htmx asks again while it is being worked on."""
    contact_import = _own_import(request, pk)
    if contact_import.status == ContactImport.Status.MATCHING and not request.htmx:
        return redirect("contacts:import_columns", contact_import.pk)
    problems = ImportProblem.objects.filter(contact_import=contact_import)
    ready = contact_import.status == ContactImport.Status.READY
    preview = imports.preview(contact_import) if ready else None
    rows = imports.first_rows(contact_import) if ready else []
    # The first rows' values that a hard opt-out overrides: among the overrides listed, which
    # are in row order, and more than twice as many as the rows shown.
    overridden = {(shown.row, shown.column) for shown in preview.overrides} if preview else ()
    for row in rows:
        row.kept_hard = [c for c in imports.CHANNEL_COLUMNS if (row.number, c) in overridden]
    context = {
        "import": contact_import,
        "problems": problems.filter(kept_hard=False)[:PROBLEMS_SHOWN],
        "kept_hard": _with_rows(contact_import, problems.filter(kept_hard=True)[:PROBLEMS_SHOWN]),
        "rows": rows,
        "preview": preview,
    }
    template = "contacts/_import_status.html" if request.htmx else "contacts/import_detail.html"
    return render(request, template, context)


@require_POST
@permission_required("contacts.import_contacts", raise_exception=True)
def apply_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply the very file whose check the user is looking at, once."""
    contact_import = _own_import(request, pk)
    if not imports.start_applying(contact_import):
        messages.error(request, imports.why_not_applied(contact_import))
        return redirect(contact_import)
    if contact_import.rows_ready - contact_import.rows_applied <= settings.BULK_INLINE_LIMIT:
        imports.apply(contact_import)
    else:
        imports.apply_import.enqueue(contact_import.pk)
    return redirect(contact_import)


@permission_required("contacts.view_contact", raise_exception=True)
def matching_count(request: HttpRequest) -> HttpResponse:
    """How many contacts the table's filters match, in words: fetched after the page, so the
    page itself never counts; and estimated where counting would cost more (paging.how_many)."""
    filters = ContactFilter(request.GET, queryset=Contact.objects.all())
    count = paging.how_many(filters.qs) if filters.is_valid() else "0"
    return HttpResponse(f"{count} contact{'' if count == '1' else 's'}")
