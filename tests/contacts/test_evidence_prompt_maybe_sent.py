"""A double opt-in prompt whose hand-over the provider did not confirm ("it may have gone",
as the consent card says) is in the number's evidence file and the Outbox, marked so: a cold
review found it in neither, though the app said it may have reached the number. A prompt sent
by Twilio is not said to be the console backend's."""

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import evidence, services
from contacts.models import Channel, ConfirmationPrompt, ConsentMethod
from messaging.backends import LocmemBackend, MaybeSent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
N = "+14155550123"


def consent_awaiting_confirmation() -> None:
    services.record_consent(
        phone=N, channel=Channel.SMS, method=ConsentMethod.WEB_FORM, given_at=timezone.now(),
        contact=ContactFactory(phone=N), awaiting=True,
    )  # fmt: skip


def test_a_prompt_that_may_have_gone_is_in_the_evidence(settings, monkeypatch, admin_client):
    settings.MESSAGING_BACKEND = "locmem"

    def no_answer(self, *, to, body, valid_for=None):
        raise MaybeSent("read timed out")

    monkeypatch.setattr(LocmemBackend, "send_sms", no_answer)
    consent_awaiting_confirmation()
    said = services.ask_to_confirm(N, [Channel.SMS])
    assert "may have gone" in said
    assert ConfirmationPrompt.objects.get().maybe_sent
    [out] = [m for m in evidence.for_number(N)["messages"] if m["direction"] == "out"]
    assert out["text"].startswith("Demo Dental: reply YES to confirm")
    assert (out["provider_id"], out["detail"]) == (
        "",
        "handed to the provider, which did not say whether it took it: it may have gone",
    )
    page = admin_client.get(reverse("messaging:outbox")).content.decode()
    assert "SMS, may have gone" in page and "reply YES to confirm" in page


def test_a_prompt_sent_is_in_the_evidence_with_its_id(settings):
    settings.MESSAGING_BACKEND = "locmem"
    consent_awaiting_confirmation()
    services.ask_to_confirm(N, [Channel.SMS])
    [out] = [m for m in evidence.for_number(N)["messages"] if m["direction"] == "out"]
    assert out["provider_id"] == ConfirmationPrompt.objects.get().sid
    assert out["detail"] == "sent outside broadcasts (a double opt-in prompt, a late confirmation)"
