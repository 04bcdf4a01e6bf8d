from functools import wraps

from django.contrib import admin
from django.contrib.admin.options import TO_FIELD_VAR
from django.http import HttpResponseBadRequest


class AdminSite(admin.AdminSite):
    """Django's admin site (crm.apps.AdminConfig makes it the default one)."""

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        # Django's change and delete pages look the object up by the field that `_to_field`
        # names, and an empty one names none: FieldDoesNotExist, a 500, on every model's pages.
        @wraps(checked)
        def inner(request, *args, **kwargs):
            if "" in (request.GET.get(TO_FIELD_VAR), request.POST.get(TO_FIELD_VAR)):
                return HttpResponseBadRequest(f"{TO_FIELD_VAR} names no field.")
            return checked(request, *args, **kwargs)

        return inner
