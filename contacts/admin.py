from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from contacts import services
from contacts.display import opt_in_icons
from contacts.models import (
    Channel,
    ConsentEvent,
    Contact,
    HardOptOutError,
    OptInStatus,
    OptOut,
    PhoneOptOut,
    Tag,
)


class ChannelStatusFilter(admin.SimpleListFilter):
    channel: Channel

    def lookups(self, request, model_admin):
        return OptInStatus.choices

    def queryset(self, request, queryset):
        match self.value():
            case OptInStatus.SUBSCRIBED:
                return queryset.subscribed_to(self.channel)
            case OptInStatus.SOFT | OptInStatus.HARD as kind:
                return queryset.opted_out_of(self.channel, kind)
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


class ConsentEventInline(ReadOnlyInline):
    model = ConsentEvent
    fields = ["at", "channel", "before", "after", "source", "actor", "note"]
    verbose_name = "consent ledger entry"
    verbose_name_plural = "consent ledger"


def _subscription_action(channel: Channel, *, resubscribe: bool):
    verb = "Resubscribe to" if resubscribe else "Unsubscribe (soft) from"

    @admin.action(description=f"{verb} {channel.label}", permissions=["change_subscription"])
    def action(modeladmin, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        changed = skipped = 0
        for contact in queryset:
            status = contact.opt_in_status(channel)
            if resubscribe:
                try:
                    services.resubscribe(contact=contact, channel=channel, by_user=request.user)
                except HardOptOutError:
                    skipped += 1
                    continue
                changed += status == OptInStatus.SOFT
            else:
                services.unsubscribe(contact=contact, channel=channel, by_user=request.user)
                changed += status == OptInStatus.SUBSCRIBED
        text = f"{channel.label}: {changed} {'resubscribed' if resubscribe else 'unsubscribed'}"
        if skipped:
            text += f", {skipped} skipped: hard opt-out"
        modeladmin.message_user(request, text + ".", messages.SUCCESS)

    action.__name__ = f"{'resubscribe' if resubscribe else 'unsubscribe'}_{channel.value}"
    return action


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "phone_display", "email", "status", "opt_in_status", "created_at"]
    list_filter = [SmsStatusFilter, CallsStatusFilter, "status", "tags"]
    search_fields = ["name", "phone", "email"]
    readonly_fields = ["created_at", "updated_at"]
    filter_horizontal = ["tags"]
    inlines = [OptOutInline, ConsentEventInline]
    show_full_result_count = False
    list_per_page = 50
    actions = [
        _subscription_action(channel, resubscribe=resubscribe)
        for channel in Channel
        for resubscribe in (False, True)
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("opt_outs__actor")

    @admin.display(description="Phone", ordering="phone")
    def phone_display(self, contact: Contact) -> str:
        return contact.phone_display

    @admin.display(description="Opt-In Status")
    def opt_in_status(self, contact: Contact):
        return opt_in_icons(contact)

    def has_change_subscription_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contacts.change_subscription")


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


admin.site.register(Tag)
admin.site.site_header = "CRM administration"
