"""The Django admin, for operators. It shows Opt-In Status but changes no subscription:
those changes go through the contacts pages and `contacts.services`."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet

from contacts import services
from contacts.display import opt_in_icons
from contacts.forms import replies_to_read_first
from contacts.models import (
    Channel,
    ChannelFilter,
    ConsentEvent,
    Contact,
    OptOut,
    PhoneOptOut,
    Tag,
    short_date,
)
from contacts.phones import normalize_phone


class ChannelStatusFilter(admin.SimpleListFilter):
    channel: Channel

    def lookups(self, request, model_admin):
        return ChannelFilter.choices

    def queryset(self, request, queryset):
        if self.value() in ChannelFilter.values:
            return queryset.with_status(self.channel, self.value())
        return queryset


class SmsStatusFilter(ChannelStatusFilter):
    title = "SMS"
    parameter_name = "sms"
    channel = Channel.SMS


class CallsStatusFilter(ChannelStatusFilter):
    title = "Calls & Voicemails"
    parameter_name = "calls"
    channel = Channel.CALLS


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OptOutInline(ReadOnlyInline):
    model = OptOut
    fields = ["channel", "kind", "opted_out_at", "source", "actor", "words"]
    verbose_name = "opt-out"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class LatestEntries(BaseInlineFormSet):
    """The contact's latest ledger entries, however long its history (the page of one with
    thousands took seconds, a form each); `more` says whether there are others."""

    shown = 20

    def get_queryset(self):
        if not hasattr(self, "_latest"):
            entries = list(super().get_queryset().select_related("actor")[: self.shown + 1])
            self._latest, self.more = entries[: self.shown], len(entries) > self.shown
        return self._latest


class ConsentEventInline(ReadOnlyInline):
    model = ConsentEvent
    formset = LatestEntries
    fields = ["at", "channel", "before", "after", "source", "actor", "note"]
    verbose_name = "consent ledger entry"
    verbose_name_plural = "consent ledger"
    template = "admin/contacts/contact/latest_entries.html"


class ContactChangeList(ChangeList):
    """The contacts' rows come with their opt-outs, which their Opt-In Status shows. (The
    change page reads a contact's in its inline.)"""

    def get_queryset(self, request, exclude_parameters=None):
        contacts = super().get_queryset(request, exclude_parameters)
        return contacts.prefetch_related("opt_outs__actor")


class ContactAdminForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        old = self.initial.get("phone")  # None for a new contact
        try:
            moved = old and normalize_phone(data.get("phone") or "") != old
        except ValidationError:
            moved = False  # the phone field says what is wrong
        if moved and (refusal := replies_to_read_first(self.instance, old)):
            raise ValidationError(refusal)
        return data


DELETED_AT_MOST = 1000


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactAdminForm
    list_display = ["name", "phone_display", "email", "status", "opt_in_status", "created_at"]
    list_filter = [SmsStatusFilter, CallsStatusFilter, "status", "tags"]
    search_fields = ["name", "phone", "email"]
    readonly_fields = ["created_at", "updated_at"]
    filter_horizontal = ["tags"]
    inlines = [OptOutInline, ConsentEventInline]
    show_full_result_count = False
    list_per_page = 50
    # "Show counts" counted each channel filter's contacts by a sub-query for every contact: at
    # a million, past any time-out.
    show_facets = admin.ShowFacets.NEVER
    actions = ["delete_selected"]

    class Media:
        css = {"all": ["css/opt_in.css"]}

    def get_changelist(self, request, **kwargs):
        return ContactChangeList

    def save_model(self, request, obj, form, change):
        """Saved as the form says; then, as the contact pages warn before, what the number's
        own opt-outs mean for the contact (the database carried them to it). A new number
        waits, as on the contact's page, for a STOP or START of either number (and they
        for it), before the row is written."""
        if change and "phone" in form.changed_data:
            services.lock_numbers([form.initial["phone"], obj.phone])
        super().save_model(request, obj, form, change)
        if change:
            before = form.initial.get("status", obj.status)
            services.keep_status_change(
                obj, before, by_user=request.user, how="changed in the admin"
            )
        if "phone" not in form.changed_data:
            return
        for opt_out in PhoneOptOut.objects.filter(phone=obj.phone).order_by("channel"):
            self.message_user(
                request,
                f"{opt_out.cause} on {short_date(opt_out.opted_out_at)}: {obj.name} will not "
                f"receive {Channel(opt_out.channel).label} while it has this number.",
                messages.WARNING,
            )

    @admin.action(permissions=["delete"], description=delete_selected.short_description)
    def delete_selected(self, request, queryset):
        """Django's, for at most DELETED_AT_MOST contacts: its page that asks first lists each
        one with its tags and opt-outs, 23 seconds and 720 MB for 100,000."""
        if (count := queryset.count()) > DELETED_AT_MOST:
            self.message_user(
                request,
                f"{count:,} contacts chosen: delete at most {DELETED_AT_MOST:,} at a time here. "
                "Nothing was deleted.",
                messages.ERROR,
            )
            return None
        return delete_selected(self, request, queryset)

    @admin.display(description="Phone", ordering="phone")
    def phone_display(self, contact: Contact) -> str:
        return contact.phone_display

    @admin.display(description="Opt-In Status")
    def opt_in_status(self, contact: Contact):
        return opt_in_icons(contact)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The opt-outs of numbers and the ledger are written only by the services."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PhoneOptOut)
class PhoneOptOutAdmin(ReadOnlyAdmin):
    list_display = ["phone", "channel", "opted_out_at", "source", "words"]
    list_filter = ["channel", "source"]
    search_fields = ["phone"]
    show_full_result_count = False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "phone", "contact_id", "channel", "before", "after", "source", "actor"]
    list_filter = ["channel", "after", "source"]
    search_fields = ["phone"]
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    def get_deleted_objects(self, objs, request):
        """The tags, and how many contacts each is taken from: Django's page listed each of
        their contacts' links, 6 seconds and 13 MB for a tag of 200,000."""
        tags = list(objs)
        links = Contact.tags.through.objects.filter(tag__in=tags)
        taken_from = dict(links.values_list("tag").annotate(n=Count("contact")).order_by())
        listed = [
            f"Tag: {tag} (taken from {taken_from.get(tag.pk, 0):,} contacts, who are kept)"
            for tag in tags
        ]
        perms_needed = set() if self.has_delete_permission(request) else {"tag"}
        return listed, {Tag._meta.verbose_name_plural: len(tags)}, perms_needed, []


admin.site.site_header = "CRM administration"
