"""What messaging tells the apps above it, which it does not import (broadcasts)."""

from django.dispatch import Signal

# The provider reported what became of a message it was given: `sid`, the message's id at
# the provider; `status`, "delivered", "failed" or "opted_out" (the number opted out at the
# carrier, error 21610); `error`, the provider's words, if any, and `code` its error code;
# `received_at`, when the provider sent it (a status kept for its message may be applied
# after a later one). Each receiver returns how many of its messages the status is of.
delivery_status = Signal()
