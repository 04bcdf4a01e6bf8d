from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging provider"

    def ready(self):
        from contacts.signals import (
            holds_wanted,
            messages_wanted,
            notes_wanted,
            reassigned_asked,
            replies_to_read,
            revoked,
            text_wanted,
        )
        from messaging import (
            checks,  # noqa: F401 (registers them)
            evidence,
            reassigned,
            texts,
        )
        from messaging.models import (
            close_answered_reviews,
            replies_of_number,
            reviews_holding,
            reviews_of_contact,
        )
        from messaging.signals import delivery_status

        # What contacts asks of a provider and of the messages: it does not import messaging.
        messages_wanted.connect(evidence.messages, dispatch_uid="messaging.evidence")
        reassigned_asked.connect(reassigned.ask, dispatch_uid="messaging.reassigned")
        text_wanted.connect(texts.send_prompt, dispatch_uid="messaging.texts")
        delivery_status.connect(texts.delivery, dispatch_uid="messaging.texts.delivery")
        revoked.connect(close_answered_reviews, dispatch_uid="messaging.reviews")
        notes_wanted.connect(reviews_of_contact, dispatch_uid="messaging.review_notes")
        holds_wanted.connect(reviews_holding, dispatch_uid="messaging.review_holds")
        replies_to_read.connect(replies_of_number, dispatch_uid="messaging.replies_to_read")
