import pytest

from messaging.backends import LocmemBackend


@pytest.fixture(autouse=True)
def _send_at_once(settings):
    """Tasks run in the test's process; messages go to the locmem outbox; no rate waits."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MESSAGING_BACKEND = "locmem"
    settings.BROADCAST_RATE = 10_000
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()
