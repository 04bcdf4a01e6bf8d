from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from crm import accounts

# Django's auth URLs (django.contrib.auth.urls), with the password reset only where e-mail is
# configured and limited (crm/accounts.py).
account_patterns = [
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", accounts.password_reset, name="password_reset"),
    path("password_reset/done/", accounts.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", accounts.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", accounts.password_reset_complete, name="password_reset_complete"),
]


def favicon(request: HttpRequest) -> HttpResponse:
    """Where browsers look for an icon on pages that name none (the Django admin's)."""
    return redirect(static("icons/app.svg"), permanent=True)


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="broadcasts:insights"), name="home"),
    path("favicon.ico", favicon),
    path("accounts/", include(account_patterns)),
    path("contacts/", include("contacts.urls")),
    path("subscriptions/", include("contacts.public_urls")),
    path("broadcasts/", include("broadcasts.urls")),
    path("", include("messaging.urls")),
    path("admin/", admin.site.urls),
]
