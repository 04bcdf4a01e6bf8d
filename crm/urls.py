from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list"), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("contacts/", include("contacts.urls")),
    path("broadcasts/", include("broadcasts.urls")),
    path("", include("messaging.urls")),
    path("admin/", admin.site.urls),
]
