from django.apps import AppConfig
from django.contrib.admin import apps as admin


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        # checks and lookups register themselves.
        from crm import checks, database_role, lookups, utc_times  # noqa: F401

        database_role.connect()
        utc_times.connect()


class AdminConfig(admin.AdminConfig):
    """Django's admin, with the project's site (crm.admin.AdminSite)."""

    default = False  # the crm app's own is CrmConfig
    default_site = "crm.admin.AdminSite"
