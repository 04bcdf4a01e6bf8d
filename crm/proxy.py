"""The client's address, read through the proxies in front of the app (TRUSTED_PROXY_COUNT)."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The address of whoever sent the request, as the proxy nearest to them saw it.

    Each trusted proxy appends the address it received the request from to X-Forwarded-For,
    so behind N of them the client is the N-th entry from the right; anything to the left
    of it was written by the client and is ignored. With no proxy (N = 0), REMOTE_ADDR.
    django-axes keys its lockouts on this (AXES_CLIENT_IP_CALLABLE), and the password reset
    its limit (crm/accounts.py).
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if count == 0 or not forwarded:
        return remote  # no proxy, or a request from the proxy itself (a health check)
    # Fewer entries than proxies: all of them were written by proxies; take the farthest.
    candidate = forwarded[-min(count, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote  # "unknown", or an address with a port: nothing to key a lockout on
