"""Real `worker` processes sharing broadcasts on PostgreSQL, in a database of their own
(they need committed data, which the test database's transaction would hide)."""

import signal
import time

import pytest

from tests.broadcasts.conftest import execute, launch, query, start_workers

pytestmark = pytest.mark.postgres


def test_three_workers_share_a_broadcast_and_send_each_number_once(worker_database):
    env, dsn = worker_database
    recipients = launch(env)
    assert recipients > 2000
    workers = start_workers(env, 3, "--batch")
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    assert query(dsn, "SELECT status, count(*) FROM broadcasts_recipient GROUP BY status") == [
        ("sent", recipients)
    ]
    assert query(dsn, 'SELECT count(*), count(DISTINCT "to") FROM messaging_outboundmessage') == [
        (recipients, recipients)
    ]
    assert query(dsn, "SELECT status FROM broadcasts_broadcast") == [("done",)]
    # The three tasks were run by different workers.
    assert (
        query(dsn, "SELECT count(DISTINCT worker_ids) FROM django_tasks_database_dbtaskresult")[0][
            0
        ]
        >= 2
    )


def test_a_killed_worker_sends_nothing_twice_and_its_rows_become_unknown(worker_database):
    env, dsn = worker_database
    env = env | {"BROADCAST_RATE": "200", "BROADCAST_WORKERS": "1"}
    recipients = launch(env)
    [worker] = start_workers(env, 1)
    deadline = time.monotonic() + 60
    # Mid-send: some messages handed over, and a claimed batch not finished yet.
    while query(
        dsn,
        """SELECT (SELECT count(*) FROM messaging_outboundmessage) < 50
                  OR NOT EXISTS (SELECT 1 FROM broadcasts_recipient WHERE status = 'sending')""",
    )[0][0]:
        assert time.monotonic() < deadline, "the worker sent nothing"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    # Time passes: the reaper's time-out is over. A new worker finishes the job.
    execute(dsn, "UPDATE broadcasts_recipient SET claimed_at = claimed_at - interval '1 hour'"
                 " WHERE status = 'sending'")  # fmt: skip
    # The killed worker's task is run again, as a restarted worker would.
    execute(dsn, "UPDATE django_tasks_database_dbtaskresult SET status = 'READY'"
                 " WHERE status = 'RUNNING'")  # fmt: skip
    env = env | {"BROADCAST_RATE": "100000"}
    [worker] = start_workers(env, 1, "--batch")
    assert worker.wait(timeout=300) == 0
    sent_twice = query(
        dsn, 'SELECT "to" FROM messaging_outboundmessage GROUP BY "to" HAVING count(*) > 1'
    )
    assert sent_twice == []
    statuses = dict(query(dsn, "SELECT status, count(*) FROM broadcasts_recipient GROUP BY status"))
    assert set(statuses) == {"sent", "unknown"}  # the killed worker's batch is unknown
    assert sum(statuses.values()) == recipients
    sent_not_once = query(
        dsn,
        """SELECT r.phone FROM broadcasts_recipient r WHERE r.status = 'sent' AND
           (SELECT count(*) FROM messaging_outboundmessage o WHERE o."to" = r.phone) <> 1""",
    )
    assert sent_not_once == []
