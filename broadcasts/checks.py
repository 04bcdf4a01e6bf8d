"""System checks (`manage.py check`) of the broadcasts' settings."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from contacts import quiet_hours


@register()
def check_quiet_hours(app_configs, **kwargs) -> list[Error]:
    """A QUIET_HOURS that cannot be read would stop every send: say what is wrong first."""
    return [
        Error(problem, hint="See the README, Quiet hours.", id="broadcasts.E001")
        for problem in quiet_hours.problems(settings.QUIET_HOURS)
    ]


@register(Tags.compatibility, deploy=True)
def warn_quiet_hours_off(app_configs, **kwargs) -> list[Warning]:
    if settings.QUIET_HOURS is not None:
        return []
    return [
        Warning(
            "Quiet hours are off (QUIET_HOURS=off): broadcasts go at any hour of the "
            "recipients' day and night.",
            hint="Leave QUIET_HOURS unset unless every broadcast is exempt (README: Quiet hours).",
            id="broadcasts.W001",
        )
    ]
