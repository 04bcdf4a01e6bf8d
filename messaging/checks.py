"""Checks of the messaging settings (`manage.py check`, run by every command)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from contacts.models import Channel, OptOutScope, scope_all_from
from messaging import reply_patterns
from messaging.inbound import help_reply, joined_reply, unsubscribed_reply
from messaging.keywords import normalise, plain
from messaging.sms import count_segments
from messaging.twiml import calls_state_no_number, no_caller_id, no_toll_free_call_back


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


@register()
def check_joined_reply(app_configs, **kwargs) -> list[Warning]:
    """The confirmation of a request to join should arrive as one message too."""
    reply = joined_reply()
    segments = count_segments(reply)
    if segments.segments <= 1:
        return []
    return [
        Warning(
            f"The confirmation of a request to join takes {segments.segments} SMS segments "
            f"({segments.encoding}): “{reply}”.",
            hint="Shorten BUSINESS_NAME, SMS_PROGRAM or SMS_FREQUENCY.",
            id="messaging.W003",
        )
    ]


@register()
def check_consent_keywords(app_configs, **kwargs) -> list[Error]:
    """A business's own keyword to join must not be one that already means something else."""
    taken = reply_patterns.CARRIER_KEYWORDS
    return [
        Error(
            f"CONSENT_KEYWORDS holds {word!r}, which is a keyword to stop, start or get help.",
            hint="Choose keywords of your own, such as SMILE.",
            id="messaging.E003",
        )
        for word in settings.CONSENT_KEYWORDS
        if not normalise(word) or normalise(word) in taken or plain(word) in reply_patterns.KEYWORDS
    ]


@register(Tags.compatibility, deploy=True)
def check_business_named(app_configs, **kwargs) -> list[Warning]:
    """Carriers require the business's name and a way to reach it in the reply to HELP."""
    demo = [
        name
        for name, value, default in [
            ("BUSINESS_NAME", settings.BUSINESS_NAME, settings.DEMO_BUSINESS_NAME),
            ("BUSINESS_CONTACT", settings.BUSINESS_CONTACT, settings.DEMO_BUSINESS_CONTACT),
        ]
        if value == default
    ]
    return [
        Warning(
            f"{name} is not set: replies to HELP and the confirmations name the demo's.",
            hint="Set BUSINESS_NAME to your business's name and BUSINESS_CONTACT to a phone "
            "number, e-mail address or web address where contacts reach you.",
            id="messaging.W004",
        )
        for name in demo
    ]


@register()
def check_opt_out_scope(app_configs, **kwargs) -> list[Error]:
    """How far a STOP reaches is never guessed from a setting that says something else."""
    errors = []
    if settings.OPT_OUT_SCOPE not in OptOutScope.values:
        errors.append(
            Error(
                f"OPT_OUT_SCOPE={settings.OPT_OUT_SCOPE!r} is not a revocation scope.",
                hint="Use “channel” (an opt-out stops the channel it came in) or “all” (every "
                "channel of the number).",
                id="messaging.E001",
            )
        )
    try:
        scope_all_from()
    except ValueError:
        errors.append(
            Error(
                f"OPT_OUT_SCOPE_ALL_FROM={settings.OPT_OUT_SCOPE_ALL_FROM!r} is not a date.",
                hint="Write the day from which every opt-out covers every channel as an ISO "
                "date (2027-01-31), or “never”.",
                id="messaging.E002",
            )
        )
    return errors


@register()
def check_stop_reply(app_configs, **kwargs) -> list[Warning]:
    """The confirmation of a revocation should arrive as one message too, in each language
    and for each set of channels it may cover: texts, calls ("stop calling me"), or both."""
    warnings = []
    for covered in [(Channel.SMS,), (Channel.CALLS,), tuple(Channel)]:
        for language in ("en", "es"):
            reply = unsubscribed_reply(covered, language)
            segments = count_segments(reply)
            if segments.segments > 1:
                warnings.append(
                    Warning(
                        f"The confirmation of a STOP takes {segments.segments} SMS segments "
                        f"({segments.encoding}): “{reply}”.",
                        hint="Shorten BUSINESS_NAME.",
                        id="messaging.W002",
                    )
                )
    return warnings


@register(Tags.compatibility, deploy=True)
def check_calls_state_a_number(app_configs, **kwargs) -> list[Warning]:
    """A broadcast's call states a telephone number of the business (47 CFR 64.1200(b)(2))."""
    if not (why := calls_state_no_number()):
        return []
    return [
        Warning(
            f"No voice broadcast can be launched: {why}",
            hint="Set BUSINESS_PHONE to a phone number where contacts reach the business, "
            "other than TWILIO_FROM_NUMBER (or BUSINESS_CONTACT to one).",
            id="messaging.W005",
        )
    ]


@register(Tags.compatibility, deploy=True)
def check_calls_give_a_toll_free_number(app_configs, **kwargs) -> list[Warning]:
    """A call gives a toll-free number to call back (47 CFR 64.1200(b)(3))."""
    if not (why := no_toll_free_call_back()):
        return []
    return [
        Warning(
            f"No voice broadcast can be launched: {why}",
            hint="Set CALL_BACK_NUMBER to a toll-free number (800, 833, 844, 855, 866, 877, "
            "888) whose voice webhook is this app's /webhooks/twilio/voice/.",
            id="messaging.W006",
        )
    ]


@register(Tags.compatibility, deploy=True)
def check_messages_reach_the_provider(app_configs, **kwargs) -> list[Error | Warning]:
    """With DEBUG off, messages go to Twilio: the console backend prints them in the worker's
    log, while the broadcast's page says they were sent."""
    if settings.DEBUG:
        return []
    if settings.MESSAGING_BACKEND != "twilio":
        return [
            Warning(
                f"MESSAGING_BACKEND is {settings.MESSAGING_BACKEND}: no message reaches anyone, "
                "yet each broadcast's page and the Outbox show its messages sent.",
                hint="Set MESSAGING_BACKEND=twilio, with TWILIO_ACCOUNT_SID and "
                "TWILIO_FROM_NUMBER (or TWILIO_MESSAGING_SERVICE_SID).",
                id="messaging.W007",
            )
        ]
    missing = [] if settings.TWILIO_ACCOUNT_SID else ["TWILIO_ACCOUNT_SID"]
    if not (settings.TWILIO_FROM_NUMBER or settings.TWILIO_MESSAGING_SERVICE_SID):
        missing.append("TWILIO_FROM_NUMBER (or TWILIO_MESSAGING_SERVICE_SID)")
    if not missing:
        return []
    return [
        Error(
            f"MESSAGING_BACKEND is twilio, without {' or '.join(missing)}: every message "
            "would fail.",
            hint="Set them from your Twilio console (Account Info; the number or Messaging "
            "Service that sends).",
            id="messaging.E004",
        )
    ]


@register(Tags.compatibility, deploy=True)
def check_calls_come_from_a_number(app_configs, **kwargs) -> list[Warning]:
    """Twilio places calls from TWILIO_FROM_NUMBER: a Messaging Service sends texts only."""
    if not (why := no_caller_id()):
        return []
    return [
        Warning(
            f"No voice broadcast can be launched: {why}",
            hint="Set TWILIO_FROM_NUMBER, or send texts only.",
            id="messaging.W008",
        )
    ]
