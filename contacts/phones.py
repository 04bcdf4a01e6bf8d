"""Phone numbers are stored in E.164 (+14155550100); people type them in any common format."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return `value` as E.164, or raise a ValidationError that names the value."""
    text = (value or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    if NANP.fullmatch(text) and _valid_in_us(text):
        return text  # what parsing and formatting it would give
    return _normalize(text, region)


# E.164, and for North America the only form phonenumbers writes: +1, then an area code and
# an exchange that each start 2-9 ("+11" and ten digits is not a number). \Z, not $: on
# SQLite, Django's REGEXP is Python's, whose $ also matches before a final newline.
VALID_PHONE = r"^\+(1[2-9][0-9]{2}[2-9][0-9]{6}|[2-9][0-9]{6,14})\Z"


def number_to_keep(value: str) -> str:
    """A number as it is kept: `value` as normalize_phone writes it or, where phonenumbers
    does not know it but it has the shape of a number a broadcast may reach (VALID_PHONE: one
    stored in SQL before the phone check, or of an area code newer than phonenumbers' data),
    as it is. The services that keep what a number said or was told take its number so: a
    STOP from any number a broadcast may reach is kept. What people type is read by
    normalize_phone, which refuses such a number."""
    if re.fullmatch(VALID_PHONE, value or ""):
        try:
            return normalize_phone(value)
        except ValidationError:
            return value
    return normalize_phone(value)


def kept_as_it_is(value: str) -> bool:
    """Whether `value` is a number as number_to_keep keeps it, under which its opt-outs are
    kept. Not so a lookalike stored in SQL before the phone check ("+4407911…", a UK mobile
    with its trunk 0, kept as +447911…): a send hands no message over to one."""
    try:
        return number_to_keep(value) == value
    except ValidationError:
        return False


def _valid_in_us(e164: str) -> bool:
    """Whether a North American number in E.164 is a valid US number, as phonenumbers'
    is_valid_number_for_region finds, by the expressions of its US metadata (below): an
    import checks every number, and the stock way was most of the time its check took
    (bench/NOTES.md). tests/contacts/test_phones.py holds the two to each other."""
    national = e164[2:]
    return bool(US_NUMBER.fullmatch(national) and US_NUMBER_OF_A_KIND.fullmatch(national))


def _us_expressions() -> tuple[re.Pattern, re.Pattern]:
    """phonenumbers' US metadata as two expressions: a valid national number of ten digits
    matches the general one, and that of one kind of number (fixed line, mobile, toll free,
    …), as phonenumbers checks it."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("US")
    kinds = [
        metadata.premium_rate, metadata.toll_free, metadata.shared_cost, metadata.voip,
        metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail,
        metadata.fixed_line, metadata.mobile,
    ]  # fmt: skip
    patterns = [
        kind.national_number_pattern
        for kind in kinds
        if kind is not None
        and kind.national_number_pattern
        and (not kind.possible_length or 10 in kind.possible_length)
    ]
    return (
        re.compile(metadata.general_desc.national_number_pattern),
        re.compile("|".join(f"(?:{pattern})" for pattern in patterns)),
    )


US_NUMBER, US_NUMBER_OF_A_KIND = _us_expressions()


def _normalize(text: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "“%(value)s” is not a valid phone number.", code="invalid", params={"value": text}
        )
    if number.extension:
        raise ValidationError(
            "“%(value)s” has an extension (%(extension)s), which no text or call can dial: "
            "give the number alone.",
            code="extension", params={"value": text, "extension": number.extension},
        )  # fmt: skip
    digits = re.search(r"\d", text)
    if digits and any(character.isalpha() for character in text[digits.start() :]):
        # phonenumbers read letters among the digits as a keypad's ("1-800-FLOWERS"): a
        # customer's number with O for 0 or l for 1 became a stranger's. A label before the
        # number ("Cell: …", "tel:+1…") is no part of it.
        raise ValidationError(
            "“%(value)s” has letters where digits go (an O for 0, an I or l for 1?): give the "
            "number in digits.",
            code="letters", params={"value": text},
        )  # fmt: skip
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def without_extension(text: str) -> str | None:
    """The number of `text` that has an extension ("(415) 555-0101 ext 5"), in E.164 without
    it, as a search finds the line's number; None if `text` is no such number."""
    try:
        number = phonenumbers.parse(text, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not number.extension or not phonenumbers.is_valid_number(number):
        return None
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """The number as people read it: national format within the home country code (so, from
    the US, Canadian numbers too), international format for the others."""
    home = phonenumbers.country_code_for_region(settings.PHONE_REGION)
    if home == 1 and (nanp := NANP.fullmatch(e164)):
        return "({}) {}-{}".format(*nanp.groups())
    number = _from_e164(e164)
    if number is None:
        return e164
    if number.country_code == home:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def is_toll_free(e164: str) -> bool:
    """Whether a number is toll-free to call within North America (800, 833, 844, 855, 866,
    877, 888): free to the caller, as a voicemail's number to call back must be."""
    number = _from_e164(e164)
    return (
        number is not None
        and number.country_code == 1
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE
    )


def call_back_number() -> str:
    """The number calls name to call back and stop them, whose calls reach the app's voice
    webhook and its menu: CALL_BACK_NUMBER, else TWILIO_FROM_NUMBER, as numbers are kept; in
    `make run`'s demo (DEBUG on, neither set) the demo's; "" if none is a number."""
    given = settings.CALL_BACK_NUMBER or settings.TWILIO_FROM_NUMBER
    if not given and settings.DEBUG:
        given = settings.DEMO_CALL_BACK_NUMBER
    try:
        return normalize_phone(given)
    except ValidationError:
        return ""


# A North American number of ten digits whose area code starts 2-9, which phonenumbers
# writes "(201) 555-0123" at home, whatever the rest: written here, as phonenumbers took a
# noticeable share of a page (bench/NOTES.md; tests/contacts/test_phones.py holds the two to
# each other).
NANP = re.compile(r"\+1([2-9][0-9]{2})([0-9]{3})([0-9]{4})")


def _from_e164(e164: str) -> phonenumbers.PhoneNumber | None:
    """The number a stored E.164 string names. Most are read directly, for
    phonenumbers.parse() took most of the time of formatting a page of numbers
    (bench/NOTES.md); parse() reads the others (national numbers with a leading zero, as in
    Italy, and whatever is not E.164)."""
    if e164[:1] == "+" and e164[1:2] != "0" and e164[1:].isdigit() and len(e164) <= 18:
        for length in (1, 2, 3):  # country codes are prefix-free
            code, national = int(e164[1 : 1 + length]), e164[1 + length :]
            if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                if len(national) >= 2 and national[0] != "0":
                    return phonenumbers.PhoneNumber(
                        country_code=code, national_number=int(national)
                    )
                break
    try:
        return phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None


class PhoneField(models.CharField):
    """A phone number stored in E.164. It accepts whatever people type and normalises it
    before validation, so "+1 (415) 555-0123" is not refused as too long."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_phone(value) if value else value

    def get_db_prep_save(self, value, connection):
        # Every write through the ORM (save, create, update, bulk_create) stores a number only
        # in the form phonenumbers writes it, the form its opt-outs are kept under: "+11" and
        # ten digits looks like E.164 but matches no opt-out.
        value = super().get_db_prep_save(value, connection)
        if isinstance(value, str) and value and not kept_as_it_is(value):
            raise ValidationError(
                "“%(value)s” is not a phone number in E.164 (+14155550123).",
                code="invalid",
                params={"value": value},
            )
        return value

    def get_prep_value(self, value):
        # Queries take the value as given: CharField would run it through to_python, and a
        # filter on a partial or unusual number must not raise.
        value = models.Field.get_prep_value(self, value)
        return value if value is None else str(value)

    def formfield(self, **kwargs):
        return super().formfield(**{"max_length": 40, **kwargs})
