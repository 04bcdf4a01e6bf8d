from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging provider"

    def ready(self):
        from contacts.signals import messages_wanted
        from messaging import (
            checks,  # noqa: F401 (registers them)
            evidence,
        )

        # The number's messages, for its evidence file: contacts does not import messaging.
        messages_wanted.connect(evidence.messages, dispatch_uid="messaging.evidence")
