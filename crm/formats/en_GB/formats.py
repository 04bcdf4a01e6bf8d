"""How pages write dates and times: `|date` gives DATE_FORMAT, `|date:"DATETIME_FORMAT"` the
date and time, and `|date:"DATETIME_SECONDS_FORMAT"` to the second, for lists of messages
that come many a minute. The rest is Django's en_GB."""

DATE_FORMAT = "j M Y"  # 26 Nov 2026
DATETIME_FORMAT = "j M Y, H:i"  # 26 Nov 2026, 14:05
DATETIME_SECONDS_FORMAT = "j M Y, H:i:s"  # 26 Nov 2026, 14:05:09
