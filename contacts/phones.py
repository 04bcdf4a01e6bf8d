"""Phone numbers are stored in E.164 (+14155550100); people type them in any common format."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return `value` as E.164, or raise a ValidationError that names the value."""
    text = (value or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "“%(value)s” is not a valid phone number.", code="invalid", params={"value": text}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """The number as people read it: national format at home, international elsewhere."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == settings.PHONE_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class PhoneField(models.CharField):
    """A phone number stored in E.164. It accepts whatever people type and normalises it
    before validation, so "+1 (415) 555-0123" is not refused as too long."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_phone(value) if value else value

    def get_prep_value(self, value):
        # Queries take the value as given: CharField would run it through to_python, and a
        # filter on a partial or unusual number must not raise.
        value = models.Field.get_prep_value(self, value)
        return value if value is None else str(value)

    def formfield(self, **kwargs):
        return super().formfield(**{"max_length": 40, **kwargs})
