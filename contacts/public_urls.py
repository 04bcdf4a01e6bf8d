"""The pages a contact opens without a login: their subscriptions, by a signed link."""

from django.urls import path

from contacts import subscriptions

app_name = "subscriptions"
urlpatterns = [path("<str:token>/", subscriptions.page, name="page")]
