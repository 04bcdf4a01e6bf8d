from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.models import Channel


class Broadcast(models.Model):
    """An SMS or voice broadcast. Its audience, sending and statuses arrive with the broadcasts
    issue; the model exists now so that the Manager role can hold its permissions."""

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("launch_broadcast", "Can launch broadcasts"),
            ("cancel_broadcast", "Can cancel broadcasts"),
        ]

    def __str__(self) -> str:
        return self.name
