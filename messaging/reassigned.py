"""Messaging's answer to contacts' question whether numbers were reassigned
(contacts.signals.reassigned_asked): the provider backend asks for each number in turn."""

import logging
from datetime import date

from messaging.backends import LookupFailed, get_backend

logger = logging.getLogger(__name__)


def ask(sender, *, numbers: dict[str, date], **kwargs) -> dict[str, str]:
    backend, answers = get_backend(), {}
    for phone, since in numbers.items():
        try:
            answers[phone] = backend.reassigned_since(phone, since)
        except LookupFailed as error:
            logger.warning("Reassigned number check of %s failed: %s", phone, error)
            answers[phone] = f"error: {error}"
    return answers
