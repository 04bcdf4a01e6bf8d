import pytest

from messaging.sms import count_segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0, 0)),
        ("a" * 160, ("GSM-7", 160, 1)),
        ("a" * 161, ("GSM-7", 161, 2)),
        ("a" * 306, ("GSM-7", 306, 2)),
        ("a" * 307, ("GSM-7", 307, 3)),
        ("€" * 80, ("GSM-7", 160, 1)),  # extension characters count twice
        ("a" * 159 + "{", ("GSM-7", 161, 2)),
        ("ç" + "a" * 69, ("UCS-2", 70, 1)),  # ç is not GSM-7 (only Ç is)
        ("é" * 160, ("GSM-7", 160, 1)),
        ("😀" * 35, ("UCS-2", 70, 1)),  # an emoji is two UTF-16 units
        ("😀" * 36, ("UCS-2", 72, 2)),
        ("a" * 134 + "😀", ("UCS-2", 136, 3)),
    ],
)
def test_segments(text, expected):
    assert tuple(count_segments(text)) == expected
