"""Checks of the settings that decide how long consent is kept."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from contacts.models import CONSENT_KEPT_YEARS


@register()
def check_consent_retention(app_configs, **kwargs) -> list[Error | Warning]:
    """Consent records are evidence for as long as a claim can be brought."""
    years = settings.CONSENT_RETENTION_YEARS
    if years < CONSENT_KEPT_YEARS:
        return [
            Error(
                f"CONSENT_RETENTION_YEARS is {years}: the database keeps consent records for "
                f"at least {CONSENT_KEPT_YEARS} years, the time within which a TCPA claim can be "
                "brought.",
                hint=f"Set it to {CONSENT_KEPT_YEARS} or more (5, as the Telemarketing Sales "
                "Rule asks, by default).",
                id="contacts.E001",
            )
        ]
    if years < 5:
        return [
            Warning(
                f"CONSENT_RETENTION_YEARS is {years}: the Telemarketing Sales Rule asks for "
                "consent records kept 5 years.",
                hint="Keep 5 unless no call or text of yours is telemarketing.",
                id="contacts.W001",
            )
        ]
    return []
