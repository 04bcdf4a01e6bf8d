"""Checks of the messaging settings (`manage.py check`, run by every command)."""

from django.core.checks import Warning, register

from messaging.inbound import help_reply
from messaging.sms import count_segments


@register()
def check_help_reply(app_configs, **kwargs) -> list[Warning]:
    """The HELP reply should arrive as one message: a split one may arrive out of order."""
    reply = help_reply()
    segments = count_segments(reply)
    if segments.segments <= 1:
        return []
    return [
        Warning(
            f"The reply to HELP takes {segments.segments} SMS segments ({segments.encoding}): "
            f"“{reply}”.",
            hint="Shorten BUSINESS_NAME or BUSINESS_CONTACT.",
            id="messaging.W001",
        )
    ]
