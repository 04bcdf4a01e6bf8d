from django.apps import AppConfig

from contacts.signals import messages_wanted
from messaging.signals import delivery_status


class BroadcastsConfig(AppConfig):
    name = "broadcasts"

    def ready(self) -> None:
        # Delivery statuses reach broadcasts by messaging's signal: messaging, below
        # broadcasts, imports nothing of it. Imported here, once the models are loaded.
        from broadcasts import checks  # noqa: F401 (registers itself)
        from broadcasts.signals import record_delivery_status

        delivery_status.connect(record_delivery_status, dispatch_uid="broadcasts.delivery")
        # Its messages to a number, for the number's evidence file.
        from broadcasts import evidence

        messages_wanted.connect(evidence.messages, dispatch_uid="broadcasts.evidence")
