from functools import wraps

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import TO_FIELD_VAR
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import HttpResponseBadRequest


class AdminSite(admin.AdminSite):
    """Django's admin site (crm.apps.AdminConfig makes it the default one)."""

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        if not isinstance(model_admin, admin.ModelAdmin):
            return checked

        # A model's pages look objects up by the field `_to_field` names. Django asks whether
        # that field may be named, and fails on a name that is not a column: "" names no field
        # (FieldDoesNotExist), a reverse relation ("opt_outs", "+") has no primary_key
        # (AttributeError). Both were 500s, on every model's pages.
        @wraps(checked)
        def inner(request, *args, **kwargs):
            # A list's filters and search go into queries as they are, and PostgreSQL's text
            # cannot hold a NUL: "?after=%00" on the consent ledger's list was a 500.
            if any("\x00" in part for key, value in request.GET.items() for part in (key, value)):
                return HttpResponseBadRequest("A NUL character cannot be searched for.")
            for to_field in (request.GET.get(TO_FIELD_VAR), request.POST.get(TO_FIELD_VAR)):
                if to_field is not None and not _is_column(model_admin.opts, to_field):
                    return HttpResponseBadRequest(f"{TO_FIELD_VAR} names no column.")
            # An action's selected rows go into a query as they are: "" or "x" was a 500.
            selected = (
                request.POST.getlist(ACTION_CHECKBOX_NAME) if request.method == "POST" else []
            )
            if not all(_is_key(model_admin.opts, value) for value in selected):
                return HttpResponseBadRequest("The rows selected name no object.")
            return checked(request, *args, **kwargs)

        return inner


def _is_column(opts, name: str) -> bool:
    try:
        return opts.get_field(name).concrete
    except FieldDoesNotExist:
        return False


def _is_key(opts, value: str) -> bool:
    try:
        opts.pk.to_python(value)
    except ValidationError:
        return False
    return value != ""
