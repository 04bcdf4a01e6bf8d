from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging provider"

    def ready(self):
        from messaging import checks  # noqa: F401 (registers them)
