from django.db import models


class PasswordResetRequest(models.Model):
    """A request for a password reset e-mail, kept for an hour to limit them (crm/accounts.py).

    In the database, not a per-process cache: every web process counts the same requests.
    """

    email = models.CharField(max_length=254, help_text="As asked for, in lower case.")
    client_address = models.GenericIPAddressField(null=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["email", "at"], name="reset_email_at"),
            models.Index(fields=["client_address", "at"], name="reset_address_at"),
            models.Index(fields=["at"], name="reset_at"),
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.client_address} at {self.at:%Y-%m-%d %H:%M}"
