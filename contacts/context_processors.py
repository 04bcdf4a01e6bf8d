"""Sentences the pages share with the app's messages, so that both say them alike."""

from django.http import HttpRequest

from contacts.models import ONLY_THE_CONTACT


def wording(request: HttpRequest) -> dict[str, str]:
    return {"ONLY_THE_CONTACT": ONLY_THE_CONTACT}
