"""A number of an overlay area code keeps the hours of the code it overlays, whose area it
shares, though phonenumbers' data of the overlay names another zone or fewer (689, Orlando:
Central; 448, Pensacola: Eastern alone): Florida's 08:00–20:00, the federal 08:00–21:00,
where the number is. (A cold review found them texted in quiet hours.)"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from broadcasts.models import Recipient
from contacts.places import place_of_number
from contacts.quiet_hours import is_open
from tests.broadcasts.test_quiet_hours_sending import at, launch, manager, new_broadcast  # noqa: F401
from tests.broadcasts.test_scheduling import sent_to
from tests.factories import ContactFactory

pytestmark = pytest.mark.usefixtures("db", "quiet_hours")

EASTERN, CENTRAL = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
PACIFIC, REGINA = ZoneInfo("America/Los_Angeles"), ZoneInfo("America/Regina")

# 689: Orlando, Florida (overlay of 407/321), Eastern time; phonenumbers says Central only.
ORLANDO_689 = "+16895550101"
# 448: Florida Panhandle (overlay of 850: Pensacola is Central); phonenumbers says Eastern only.
PENSACOLA_448 = "+14485550101"
# 364: western Kentucky (overlay of 270, mostly Central); phonenumbers says Eastern only.
PADUCAH_364 = "+13645550101"


@pytest.fixture(autouse=True)
def _tasks_in_the_database(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_an_orlando_689_number_is_not_texted_after_8pm_eastern(manager):  # noqa: F811
    # Same city, same clock as 407: 20:30 Eastern is after Florida's 20:00.
    monday_2030 = datetime(2026, 12, 7, 20, 30, tzinfo=EASTERN)
    assert not is_open(place_of_number("+14075550101"), monday_2030)
    ContactFactory(phone=ORLANDO_689)
    with at(2026, 12, 7, 20, 30, zone=EASTERN):  # Monday, 20:30 in Orlando
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == []
        assert broadcast.recipients.get().status == Recipient.Status.DEFERRED


def test_a_pensacola_448_number_is_not_texted_before_8am_central(manager):  # noqa: F811
    # The 850 numbers it overlays wait for 08:00 Central.
    monday_0730 = datetime(2026, 12, 7, 7, 30, tzinfo=CENTRAL)
    assert not is_open(place_of_number("+18505550101"), monday_0730)
    ContactFactory(phone=PENSACOLA_448)
    with at(2026, 12, 7, 7, 30, zone=CENTRAL):  # 08:30 Eastern, 07:30 in Pensacola
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == []


def test_a_western_kentucky_364_number_is_not_texted_before_8am_central(manager):  # noqa: F811
    monday_0730 = datetime(2026, 12, 7, 7, 30, tzinfo=CENTRAL)
    assert not is_open(place_of_number("+12705550101"), monday_0730)
    ContactFactory(phone=PADUCAH_364)
    with at(2026, 12, 7, 7, 30, zone=CENTRAL):
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == []


@pytest.mark.parametrize(
    ("overlay", "overlaid", "moment"),
    [
        # 930 overlays 812 (southern Indiana: Evansville is Central): 07:30 Central.
        ("+19305550101", "+18125550101", datetime(2026, 12, 7, 7, 30, tzinfo=CENTRAL)),
        # 458 overlays 541 (Oregon: Ontario is Mountain): 20:30 Pacific is 21:30 there.
        (
            "+14585550101",
            "+15415550101",
            datetime(2026, 12, 7, 20, 30, tzinfo=ZoneInfo("America/Los_Angeles")),
        ),
        ("+16895550101", "+14075550101", datetime(2026, 12, 7, 20, 30, tzinfo=EASTERN)),
        ("+14485550101", "+18505550101", datetime(2026, 12, 7, 7, 30, tzinfo=CENTRAL)),
        ("+13645550101", "+12705550101", datetime(2026, 12, 7, 7, 30, tzinfo=CENTRAL)),
        # Canada (a review of the first fix): 474 over 306 (Saskatchewan keeps no daylight
        # saving, its data say Winnipeg's), 257, 236, 672 and 778 over 250 (British
        # Columbia's east keeps Mountain time), 581 and 367 over 418 (the Magdalen Islands
        # keep Atlantic time).
        ("+14745550101", "+13065550101", datetime(2026, 7, 7, 7, 30, tzinfo=REGINA)),
        ("+12575550101", "+12505550101", datetime(2026, 12, 7, 20, 30, tzinfo=PACIFIC)),
        ("+12365550101", "+12505550101", datetime(2026, 12, 7, 20, 30, tzinfo=PACIFIC)),
        ("+16725550101", "+12505550101", datetime(2026, 12, 7, 20, 30, tzinfo=PACIFIC)),
        ("+17785550101", "+12505550101", datetime(2026, 12, 7, 20, 30, tzinfo=PACIFIC)),
        ("+15815550101", "+14185550101", datetime(2026, 12, 7, 20, 30, tzinfo=EASTERN)),
        ("+13675550101", "+14185550101", datetime(2026, 12, 7, 20, 30, tzinfo=EASTERN)),
    ],
)
def test_an_overlay_area_code_keeps_the_hours_of_the_code_it_overlays(overlay, overlaid, moment):
    assert not is_open(place_of_number(overlaid), moment)
    assert not is_open(place_of_number(overlay), moment)
