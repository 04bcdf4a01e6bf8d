"""Letters among a number's digits are refused with a country code too: counting every
digit of the text against the national number let a country code, an international prefix
or a trunk "(0)" make up for letters read off a keypad (a cold review)."""

import pytest
from django.core.exceptions import ValidationError

from contacts.phones import normalize_phone

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed",
    [
        "+44 (0)7911 123IOI",  # kept as +447911123464
        "+44 (0)20 7946 0IOI",  # kept as +442079460464
        "+353 87 123 4IOI",  # kept as +353871234464
        "011 44 20 7946 0IOI",  # kept as +442079460464
    ],
)
def test_letters_for_digits_are_refused_with_a_country_code_too(typed):
    with pytest.raises(ValidationError):
        normalize_phone(typed)
