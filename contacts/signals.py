"""What contacts asks of the apps above it, which it does not import (messaging, broadcasts)."""

from django.dispatch import Signal

# A number's evidence file (contacts.evidence) wants its messages: sent with `phone`, each
# receiver returns a list of messages to or from it, each a dict: "at" (a datetime),
# "direction" ("in" or "out"), "kind", "provider_id", "text", "detail", and where known the
# "contact_id" it was sent to.
messages_wanted = Signal()

# Whether numbers were disconnected (and so may have been reassigned) since a date, as the
# FCC's Reassigned Numbers Database answers it (contacts.reassigned): sent with `numbers`, a
# dict of phone (E.164) to the date its holder was last known to have it; a receiver that asks
# a provider returns a dict of phone to "yes", "no" or "no_data", or to the error that kept it
# from answering (a str starting "error: ").
reassigned_asked = Signal()

# The contact behind a number revoked their consent themselves (services.record_revocation: a
# STOP, the digit, the carrier's 21610, a confirmed possible opt-out): sent with `phone` and
# `channels`, those it covers, in the revocation's transaction.
revoked = Signal()

# What the contact's page should say of its number beside its opt-outs (a reply waiting for
# review that holds it): sent with `contact`, each receiver returns a list of (text, address)
# pairs, the address a page where it is decided.
notes_wanted = Signal()

# What holds numbers back from messages beside their opt-outs and their contacts' status (a
# reply waiting for review), for the icons' tooltips: each receiver returns a queryset of
# rows with two values, "phone" and "channels" (those it holds back, space-separated, before
# the revoke-all scope), which the Contacts table joins to its page's statement.
holds_wanted = Signal()

# The replies of a number not read yet that may be its holder's request to stop (kept for the
# worker, or waiting in Possible opt-outs): sent with `phone`, each receiver returns a list of
# phrases, each naming one ("“stop texting me lol”, waiting in Possible opt-outs").
replies_to_read = Signal()

# A text to send to one number now, outside broadcasts (contacts.services.ask_to_confirm's
# double opt-in prompt): sent with `phone`, `text` and `valid_for` (the seconds it may wait
# in the provider's queue, or None); the receiver that sends it returns the provider's id, or
# raises TextNotSent or one of its kinds below.
text_wanted = Signal()


class TextNotSent(Exception):
    """The text was not sent: why."""


class TextMaybeSent(TextNotSent):
    """The provider did not say whether it took the text (no answer, or its own error)."""


class TextOptedOut(TextNotSent):
    """The carrier says the number opted out (Twilio's 21610): the number's own revocation."""


class TextLater(TextNotSent):
    """Not now, nothing was sent: ask again later (the provider asked to wait, or a reply of
    the number is not read yet)."""
