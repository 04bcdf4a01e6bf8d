"""A webhook event kept but not processed (the database refused, or a lock was held too long)
is acknowledged, and the task worker that `make run` starts processes it by itself: real
processes (gunicorn, `manage.py worker`) on a database of their own, of the test run's engine
(tests/app_processes.py)."""

import os
import subprocess

import psycopg
import pytest

from tests.app_processes import wait_until

CONFIRMATION = "You have been unsubscribed from Demo Dental messages"
# Every number's opt-out refused, as a full disk or a broken database would.
FAULT = {
    "sqlite": [
        "CREATE TRIGGER test_fault BEFORE INSERT ON contacts_phoneoptout"
        " BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$",
        "CREATE TRIGGER test_fault BEFORE INSERT ON contacts_phoneoptout"
        " FOR EACH ROW EXECUTE FUNCTION test_fault()",
    ],
}
REPAIR = {
    "sqlite": ["DROP TRIGGER test_fault"],
    "postgresql": ["DROP TRIGGER test_fault ON contacts_phoneoptout", "DROP FUNCTION test_fault()"],
}


def kept(database, phone: str) -> list[tuple]:
    """Whether the number's events were processed, and their errors."""
    return database.query(
        "SELECT processed_at IS NOT NULL, error FROM messaging_inboundevent WHERE phone = %s",
        (phone,),
    )


def sms_opt_out(database, phone: str) -> list[tuple]:
    return database.query(
        "SELECT o.kind, o.words FROM contacts_optout o JOIN contacts_contact c"
        " ON c.id = o.contact_id WHERE c.phone = %s AND o.channel = 'sms'",
        (phone,),
    )


def stop_kept_while_the_database_refuses_it(database, server, phone: str) -> None:
    for statement in FAULT[database.vendor]:
        database.query(statement)
    status, answer = server.sms(phone, "STOP")
    assert status == 200 and CONFIRMATION in answer
    [(processed, error)] = kept(database, phone)
    assert not processed and "the disk is full" in error
    assert sms_opt_out(database, phone) == []
    for statement in REPAIR[database.vendor]:
        database.query(statement)


def test_the_worker_processes_a_kept_stop_by_itself(database, serve, worker):
    database.add_contacts(1)
    phone = database.value("SELECT phone FROM contacts_contact")
    worker(database, INBOUND_SWEEP_SECONDS="1")
    stop_kept_while_the_database_refuses_it(database, serve(database), phone)

    wait_until(lambda: kept(database, phone)[0][0], "the worker's processing of the STOP")
    assert kept(database, phone) == [(True, "")]
    assert sms_opt_out(database, phone) == [("hard", "STOP")]


@pytest.mark.postgres
def test_a_stop_held_up_by_a_lock_is_answered_in_time_and_processed_after(database, serve, worker):
    """A bulk change's transaction holds the lock the STOP needs: past INBOUND_LOCK_TIMEOUT the
    webhook answers, and the worker processes the STOP once the lock is released."""
    database.add_contacts(1)
    phone = database.value("SELECT phone FROM contacts_contact")
    server = serve(database, INBOUND_LOCK_TIMEOUT="0.5")
    worker(database, INBOUND_SWEEP_SECONDS="1")
    with psycopg.connect(database.url) as bulk:
        bulk.execute("LOCK TABLE contacts_phoneoptout IN SHARE MODE")  # as bulk changes do
        status, answer = server.sms(phone, "STOP")
        assert status == 200 and CONFIRMATION in answer
        [(processed, error)] = kept(database, phone)
        assert not processed and "lock timeout" in error
        bulk.rollback()

    wait_until(lambda: kept(database, phone)[0][0], "the worker's processing of the STOP")
    assert sms_opt_out(database, phone) == [("hard", "STOP")]


@pytest.mark.postgres
def test_the_worker_goes_on_processing_kept_events_after_a_database_restart(
    database, serve, worker, django_db_blocker
):
    restart = os.environ.get("TEST_POSTGRES_RESTART")
    if not restart:
        pytest.fail(
            "This test restarts PostgreSQL: run it through tests/with-postgres.sh (make test), "
            "or set TEST_POSTGRES_RESTART to a command that restarts the server."
        )
    database.add_contacts(1)
    phone = database.value("SELECT phone FROM contacts_contact")
    worker(database, INBOUND_SWEEP_SECONDS="1")
    server = serve(database)
    assert server.sms("+12125550100", "HELP")[0] == 200  # the server is up, and connected
    # The worker has looked for kept events once: its connection is one the restart breaks.
    looked = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
              " AND query LIKE %s")  # fmt: skip
    wait_until(lambda: database.value(looked, ("%inboundevent%received_at%",)), "a first look")
    subprocess.run(restart, shell=True, check=True, capture_output=True)
    with django_db_blocker.unblock():
        from django.db import connection

        connection.close()  # this process's connection died with the server

    stop_kept_while_the_database_refuses_it(database, server, phone)
    wait_until(lambda: kept(database, phone)[0][0], "the worker's processing of the STOP")
    assert sms_opt_out(database, phone) == [("hard", "STOP")]
