"""What contacts asks of the apps above it, which it does not import (messaging, broadcasts)."""

from django.dispatch import Signal

# A number's evidence file (contacts.evidence) wants its messages: sent with `phone`, each
# receiver returns a list of messages to or from it, each a dict: "at" (a datetime),
# "direction" ("in" or "out"), "kind", "provider_id", "text", "detail", and where known the
# "contact_id" it was sent to.
messages_wanted = Signal()
