import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from crm.roles import ADMIN, MANAGER, STAFF
from tests.app_processes import _migrated, database, serve, worker  # noqa: F401 (fixtures)
from tests.factories import UserFactory
from tests.twilio_standin import twilio  # noqa: F401 (a fixture: the Twilio API stand-in)

# No per-example deadline: a slow first example (a cold cache, a busy CI machine) is not a bug.
hypothesis_settings.register_profile("crm", deadline=None)
hypothesis_settings.load_profile("crm")

BUSINESS_PHONE = "(415) 555-0100"  # what the tests' calls state
CALL_BACK_NUMBER = "+18885550199"  # toll-free: the number they name to call back


@pytest.fixture(autouse=True)
def _engine_specific_tests_need_their_engine(request):
    """`make test` deselects the tests of the other engine; anywhere else they fail, never
    skip, so that a run on the wrong database cannot pass by skipping."""
    for marker, vendor in (("postgres", "postgresql"), ("sqlite", "sqlite")):
        if request.node.get_closest_marker(marker) and connection.vendor != vendor:
            pytest.fail(f"This test needs {vendor}, and the database is {connection.vendor}.")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="stafftest", role=STAFF)


@pytest.fixture
def admin_role_user(db):
    return UserFactory(username="admintest", role=ADMIN)


@pytest.fixture
def manager_user(db):
    return UserFactory(username="managertest", role=MANAGER)


@pytest.fixture
def admin_client(client, admin_role_user):
    """A client signed in as an Admin (the role, not pytest-django's superuser)."""
    client.force_login(admin_role_user)
    return client


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture(autouse=True)
def _quiet_hours_off(settings):
    """Quiet hours are off unless a test turns them on (`quiet_hours`) and sets its clock:
    otherwise a test that sends would pass or fail by the hour it runs at."""
    settings.QUIET_HOURS = None


@pytest.fixture
def quiet_hours(settings):
    """Quiet hours as the app ships them."""
    from crm import settings as shipped

    settings.QUIET_HOURS = shipped.QUIET_HOURS_DEFAULT


@pytest.fixture(autouse=True)
def _a_business_phone(settings):
    """Tests run with DEBUG off, where the demo's number is no number of the business's for
    its calls to state (messaging.twiml.business_phone): a deployment sets BUSINESS_PHONE."""
    settings.BUSINESS_PHONE = BUSINESS_PHONE


@pytest.fixture(autouse=True)
def _a_toll_free_call_back(settings):
    """A marketing call names a toll-free number to call back and stop the calls
    (messaging.twiml.no_toll_free_call_back): a deployment sets CALL_BACK_NUMBER, or calls
    from one."""
    settings.CALL_BACK_NUMBER = CALL_BACK_NUMBER


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _export_pieces_one_at_a_time(settings):
    """A test's data stays in its transaction, which the connections of an export's other
    workers would not see: exports read one piece at a time here, and pieces read at once
    are tested with committed data (tests/contacts/test_csv_export.py)."""
    settings.EXPORT_WORKERS = 1
