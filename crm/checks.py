"""Deployment checks (`manage.py check --deploy`) for what protects opt-outs in production."""

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections
from django.http.request import validate_host

from crm.database_role import privileged_because


@register(Tags.security, deploy=True)
def check_webhook_token(app_configs, **kwargs) -> list[Error]:
    """Webhooks signed with the development token are signed with a token anyone can read."""
    if settings.DEBUG or settings.TWILIO_AUTH_TOKEN != settings.DEVELOPMENT_AUTH_TOKEN:
        return []
    return [
        Error(
            "TWILIO_AUTH_TOKEN is the development token, which anyone can read in the source: "
            "anyone could sign a START that lifts a hard opt-out.",
            hint="Set TWILIO_AUTH_TOKEN to your Twilio account's auth token.",
            id="crm.E001",
        )
    ]


@register(Tags.security, deploy=True)
def check_database_engine(app_configs, **kwargs) -> list[Warning]:
    """SQLite has no roles: any connection to its file can drop the guard's triggers."""
    if settings.DEBUG or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return []
    return [
        Warning(
            "The database is SQLite, which has no roles: whatever can open its file can drop "
            "the triggers that keep hard opt-outs. Its guard holds against the application's "
            "own code paths only.",
            hint="Run production on PostgreSQL with the README's database roles.",
            id="crm.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_public_url(app_configs, **kwargs) -> list[Error]:
    """Twilio posts a call's unsubscribe key to PUBLIC_URL: an address it cannot reach, or a
    redirect, loses the key."""
    if settings.DEBUG:
        return []
    address = urlsplit(settings.PUBLIC_URL)
    if address.scheme not in ("http", "https") or not address.hostname or _local(address):
        return [
            Error(
                f"PUBLIC_URL is {settings.PUBLIC_URL}, which Twilio cannot reach: each call's "
                "unsubscribe key and each message's status are posted there, and the key "
                "would stop no call.",
                hint="Write the address the app is served at, as Twilio reaches it "
                "(https://crm.example.com).",
                id="crm.E003",
            )
        ]
    if address.scheme != "http" or not settings.SECURE_SSL_REDIRECT:
        return []
    return [
        Error(
            f"PUBLIC_URL is {settings.PUBLIC_URL}, while SECURE_SSL_REDIRECT sends every http "
            "request to https: Twilio's posts to it (a call's unsubscribe key, a message's "
            "status) would be redirected, and the key would stop no call.",
            hint="Write PUBLIC_URL with https://, the address Twilio reaches the app at.",
            id="crm.E002",
        )
    ]


def _local(address: SplitResult) -> bool:
    """Whether the address is none Twilio reaches: this machine (localhost, *.localhost,
    127.0.0.1 however written, ::1), any address (0.0.0.0), or a private network's."""
    host = address.hostname.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not host.replace(".", "").isdigit():
            return False  # a name, which Twilio looks up
        try:  # IPv4's short forms: 127.1, 0
            ip = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return False
    return ip.is_loopback or ip.is_unspecified or ip.is_private or ip.is_link_local


@register(Tags.security, deploy=True)
def check_public_url_is_an_allowed_host(app_configs, **kwargs) -> list[Error]:
    """Twilio's webhooks come to PUBLIC_URL's host: one that ALLOWED_HOSTS does not name gets
    400, and every STOP sent to it is lost (Twilio does not send an inbound text again)."""
    address = urlsplit(settings.PUBLIC_URL)
    host = address.hostname
    if settings.DEBUG or not host or _local(address):  # crm.E003's
        return []
    if validate_host(f"[{host}]" if ":" in host else host, settings.ALLOWED_HOSTS):
        return []
    return [
        Error(
            f"PUBLIC_URL's host, {host}, is not one of ALLOWED_HOSTS: each of Twilio's "
            "webhooks (a STOP, a call's key) would be refused with 400 and lost.",
            hint=f"Add {host} to ALLOWED_HOSTS.",
            id="crm.E004",
        )
    ]


@register(Tags.database, deploy=True)
def check_application_role(app_configs, databases=None, **kwargs) -> list[Warning]:
    """`check --deploy --database default`, run with the application's DATABASE_URL: its
    role must not be able to switch the guard off (crm.database_role)."""
    if settings.DEBUG:
        return []
    found = []
    for alias in databases or ():
        if connections[alias].vendor != "postgresql":
            continue
        with connections[alias].cursor() as cursor:
            reason = privileged_because(cursor)
        if reason:
            found.append(
                Warning(
                    f"The database role of {alias!r} {reason}: the application connecting as "
                    "it could disable the triggers that keep hard opt-outs.",
                    hint="Run the application as a role that may only read and write rows "
                    "(README: Database roles); only migrations run as the owner.",
                    id="crm.W002",
                )
            )
    return found
