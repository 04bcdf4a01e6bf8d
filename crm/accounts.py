"""Logging in, and resetting a forgotten password by e-mail: offered only when e-mail is
configured (a "default" mailer in MAILERS), and limited per hour (PASSWORD_RESET_LIMIT)."""

from datetime import timedelta
from functools import wraps

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.mail import DEFAULT_MAILER_ALIAS
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.timezone import now

from crm.models import PasswordResetRequest
from crm.proxy import client_address

WINDOW = timedelta(hours=1)


def username_tried(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username of a failed login, as django-axes keys its lockouts (AXES_USERNAME_CALLABLE).

    Django's login form checks a username's length only against the accounts, so a longer
    one reaches axes, whose column holds 255 characters: cut there. No account's username is
    that long, so the lockouts of two such names falling together locks nobody out.
    """
    given = credentials.get("username") if credentials else request.POST.get("username")
    return given[: AccessAttempt._meta.get_field("username").max_length] if given else given


def password_reset_offered() -> bool:
    """Whether a reset can reach anyone: only with a mailer to send it."""
    return DEFAULT_MAILER_ALIAS in settings.MAILERS


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        return context | {"password_reset": password_reset_offered()}


def _by_email_only(view):
    """Not found without e-mail: a reset that can send nothing is no reset."""

    @wraps(view)  # keeps the view's login_not_required and the like
    def offered(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not password_reset_offered():
            raise Http404("No e-mail is configured for password resets.")
        return view(request, *args, **kwargs)

    return offered


def _allowed(*, email: str, address: str | None) -> bool:
    """Whether one more reset may be sent for `email` from `address` this hour; if so, count it.

    Refused requests are not counted, so that asking again and again does not push the end of
    a pause further away. Two requests at the same instant may both pass: a limit of a few an
    hour can take one more.
    """
    at = now()
    PasswordResetRequest.objects.filter(at__lte=at - WINDOW).delete()
    recent = PasswordResetRequest.objects.filter(at__gt=at - WINDOW)
    limit = settings.PASSWORD_RESET_LIMIT
    if recent.filter(email=email).count() >= limit:
        return False
    if address and recent.filter(client_address=address).count() >= limit:
        return False
    PasswordResetRequest.objects.create(email=email, client_address=address, at=at)
    return True


EMAIL_KEPT = PasswordResetRequest._meta.get_field("email").max_length


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"

    def form_valid(self, form) -> HttpResponse:
        # Counted whether or not the address has an account: the answer must not tell. (A
        # server that cannot be reached is logged by Django's form; the answer is the same.)
        # Lower case may be longer ("İ" is two characters): counted by as much as is kept.
        email = form.cleaned_data["email"].lower()[:EMAIL_KEPT]
        if not _allowed(email=email, address=client_address(self.request)):
            context = {"limit": settings.PASSWORD_RESET_LIMIT}
            template = "registration/password_reset_throttled.html"
            return render(self.request, template, context, status=429)
        return super().form_valid(form)


password_reset = _by_email_only(PasswordResetView.as_view())
password_reset_done = _by_email_only(auth_views.PasswordResetDoneView.as_view())
password_reset_confirm = _by_email_only(auth_views.PasswordResetConfirmView.as_view())
password_reset_complete = _by_email_only(auth_views.PasswordResetCompleteView.as_view())
