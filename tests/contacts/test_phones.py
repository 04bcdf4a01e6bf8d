import phonenumbers
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from contacts.phones import _normalize, _valid_in_us, format_phone, normalize_phone


@pytest.mark.parametrize(
    "typed",
    ["(415) 555-0123", "415.555.0123", "415 555 0123", "+1 415 555 0123", "1-415-555-0123",
     "+14155550123", " 4155550123 "],
)  # fmt: skip
def test_it_stores_common_formats_as_e164(typed):
    assert normalize_phone(typed) == "+14155550123"


def test_it_reads_numbers_of_other_countries_by_their_code():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


def test_it_uses_the_default_region_from_settings(settings):
    settings.PHONE_REGION = "GB"
    assert normalize_phone("020 7946 0958") == "+442079460958"


@pytest.mark.parametrize("bad", ["12345", "not a phone", "+1 415 555 01234567", "+999 123"])
def test_it_refuses_an_invalid_number_naming_the_value(bad):
    with pytest.raises(ValidationError) as error:
        normalize_phone(bad)
    assert bad in error.value.messages[0]


@pytest.mark.parametrize(
    "typed", ["+1 212 200 0001 ext 5", "(212) 200-0001 x5", "212-200-0001;ext=5"]
)
def test_it_refuses_a_number_with_an_extension_rather_than_drop_it(typed):
    with pytest.raises(ValidationError) as error:
        normalize_phone(typed)
    assert error.value.messages[0] == (
        f"“{typed}” has an extension (5), which no text or call can dial: give the number alone."
    )


def test_it_refuses_an_empty_number():
    with pytest.raises(ValidationError, match="Enter a phone number"):
        normalize_phone("  ")


@given(st.from_regex(r"\+1[2-9][0-9]{9}", fullmatch=True))
def test_north_american_numbers_are_valid_as_phonenumbers_finds(e164):
    number = phonenumbers.PhoneNumber(country_code=1, national_number=int(e164[2:]))
    assert _valid_in_us(e164) == phonenumbers.is_valid_number_for_region(number, "US")
    try:
        stock = _normalize(e164, "US")
    except ValidationError:
        stock = "refused"
    try:
        assert normalize_phone(e164) == stock
    except ValidationError:
        assert stock == "refused"


@given(st.text(max_size=40))
def test_any_text_gives_e164_or_a_validation_error(text):
    try:
        result = normalize_phone(text)
    except ValidationError:
        return
    assert result.startswith("+") and result[1:].isdigit()
    assert normalize_phone(result) == result


@given(st.text(max_size=40))
def test_any_stored_text_is_shown_as_text(text):
    """A number that came in before validation, or was typed into the database, still shows."""
    assert isinstance(format_phone(text), str)


def test_it_formats_home_numbers_nationally_and_others_internationally():
    assert format_phone("+14155550123") == "(415) 555-0123"
    assert format_phone("+14165550123") == "(416) 555-0123"  # Toronto: the same country code
    assert format_phone("+442079460958") == "+44 20 7946 0958"
    assert format_phone("+390612345678") == "+39 06 1234 5678"  # Italy keeps its zero


@given(st.from_regex(r"\+1[0-9]{10}", fullmatch=True))
def test_north_american_numbers_read_as_phonenumbers_writes_them(e164):
    """format_phone writes ten-digit North American numbers itself (contacts.phones.NANP)."""
    national = phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    assert format_phone(e164) == national


def test_away_from_north_america_its_numbers_read_internationally(settings):
    settings.PHONE_REGION = "GB"
    assert format_phone("+14155550123") == "+1 415-555-0123"


def test_a_number_too_long_for_its_country_shows_every_digit():
    assert format_phone("+115131910863") == "15131910863"


def test_it_reads_every_countrys_numbers_as_phonenumbers_parse_does():
    """format_phone reads E.164 digits directly; for every region's example numbers of every
    type, the text must be what phonenumbers.parse() would give."""
    home = phonenumbers.country_code_for_region(settings.PHONE_REGION)
    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            parsed = phonenumbers.parse(e164)
            style = phonenumbers.PhoneNumberFormat
            expected = phonenumbers.format_number(
                parsed, style.NATIONAL if parsed.country_code == home else style.INTERNATIONAL
            )
            assert format_phone(e164) == expected, e164
            checked += 1
    assert checked > 1000


@given(
    st.from_regex(r"\+1[2-9][0-9]{9}", fullmatch=True)
    | st.sampled_from(["+16045550123", "+18095550123", "+12425550123", "+15555550123"])
    | st.text(max_size=16)
)
def test_numbers_in_e164_read_as_phonenumbers_reads_them(text):
    """normalize_phone reads a North American number in E.164 without phonenumbers' parser:
    the same result or the same refusal."""
    try:
        expected = _normalize(text.strip(), None)
    except ValidationError:
        with pytest.raises(ValidationError):
            normalize_phone(text)
    else:
        assert normalize_phone(text) == expected
