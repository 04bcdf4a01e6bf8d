from django.contrib import admin

from contacts.admin import ReadOnlyAdmin
from messaging.models import InboundEvent, OutboundMessage, PossibleOptOut


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "kind", "to", "body"]
    list_filter = ["kind"]
    search_fields = ["to"]


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "kind", "key", "processed_at", "reading", "error"]
    list_filter = ["kind", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["key"]
    show_full_result_count = False


@admin.register(PossibleOptOut)
class PossibleOptOutAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "phone", "words", "decision", "decided_by"]
    list_filter = ["decision"]
