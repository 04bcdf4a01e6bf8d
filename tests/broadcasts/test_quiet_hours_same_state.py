"""A contact who gives the area code's own state and a zone of it keeps that zone alone: a
Fort Myers (239, Eastern) number whose contact says Florida, Central time, waits for
Florida's 20:00 on the Central clock only. (A cold review found the first form of 9f3c42b
added the Eastern clock too: sends stopped at 19:00 where the contact is.)"""

import pytest

from contacts.places import Place
from contacts.quiet_hours import places_said


@pytest.mark.usefixtures("quiet_hours")
def test_a_contact_in_the_area_code_s_own_state_keeps_its_own_zone_alone():
    assert places_said("+12395550123", [("America/Chicago", "FL")]) == (
        Place(zones=("America/Chicago",), state="FL"),
    )
