"""System checks (`manage.py check`) of the broadcasts' settings."""

from django.conf import settings
from django.core.checks import Error, register

from broadcasts import quiet_hours


@register()
def check_quiet_hours(app_configs, **kwargs) -> list[Error]:
    """A QUIET_HOURS that cannot be read would stop every send: say what is wrong first."""
    return [
        Error(problem, hint="See the README, Quiet hours.", id="broadcasts.E001")
        for problem in quiet_hours.problems(settings.QUIET_HOURS)
    ]
