"""Real `worker` processes sharing broadcasts on PostgreSQL, in a database of their own
(they need committed data, which the test database's transaction would hide). The provider
is a stand-in in this process, which can hold a message to keep a worker mid-hand-over."""

import signal
from collections import Counter

import pytest

from tests.broadcasts.conftest import (
    Provider,
    execute,
    hold_hand_overs,
    launch,
    query,
    release_hand_overs,
    start_workers,
    wait_until,
)

pytestmark = pytest.mark.postgres
TASKS = "django_tasks_database_dbtaskresult"


def test_three_workers_share_a_broadcast_and_send_each_number_once(worker_database, provider):
    env, dsn = worker_database
    env = env | provider
    recipients = launch(env)
    assert recipients > 2000
    # Until each worker has taken one of the three sending tasks, the first to send is kept
    # in its first hand-over: however fast it is, it cannot finish the broadcast alone.
    Provider.gate.clear()
    workers = start_workers(env, 3, "--batch")
    running = f"SELECT count(DISTINCT worker_ids) FROM {TASKS} WHERE status = 'RUNNING'"
    wait_until(lambda: query(dsn, running)[0][0] == 3, "three workers each running a task")
    release_hand_overs()
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    assert query(dsn, "SELECT status, count(*) FROM broadcasts_recipient GROUP BY status") == [
        ("sent", recipients)
    ]
    received = Counter(phone for phone, _ in Provider.received)
    assert (len(received), max(received.values())) == (recipients, 1)
    assert query(dsn, "SELECT status FROM broadcasts_broadcast") == [("done",)]
    assert query(dsn, f"SELECT count(DISTINCT worker_ids) FROM {TASKS}") == [(3,)]


def test_a_killed_worker_sends_nothing_twice_and_its_rows_become_unknown(worker_database, provider):
    env, dsn = worker_database
    env = env | provider | {"BROADCAST_RATE": "200", "BROADCAST_WORKERS": "1"}
    recipients = launch(env)
    [worker] = start_workers(env, 1)
    wait_until(lambda: len(Provider.received) >= 50, "50 messages sent")
    # Killed mid-send: its batch claimed, one of its messages with the provider, unanswered.
    [held] = hold_hand_overs()
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    release_hand_overs()
    finish_once_reaped(env, dsn)

    received = Counter(phone for phone, _ in Provider.received)
    assert [phone for phone, n in received.items() if n > 1] == []  # nothing sent twice
    statuses = dict(query(dsn, "SELECT status, count(*) FROM broadcasts_recipient GROUP BY status"))
    assert set(statuses) == {"sent", "unknown"}  # the killed worker's batch is unknown
    assert sum(statuses.values()) == recipients
    assert held in numbers(dsn, "unknown")  # the provider had it: it may have been sent
    assert numbers(dsn, "sent") <= set(received)  # received (once, as checked above)


def test_a_worker_killed_after_a_carrier_refusal_keeps_the_refusal(worker_database, provider):
    """The carrier's refusal (21610) is the contact's own STOP there. A worker killed later
    in the batch that got it (its next message held at the provider) must not lose it: under
    the revoke-all rule, it stops the number's calls too."""
    env, dsn = worker_database
    env = env | provider | {"BROADCAST_RATE": "200", "BROADCAST_WORKERS": "1"}
    launch(env)
    Provider.refusing = 1  # the first message: the batch's first of 40
    Provider.gate.clear()  # and every message after it held
    [worker] = start_workers(env, 1)
    wait_until(lambda: Provider.held, "a message held after the refusal")
    [(refused, _), *_] = Provider.received
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    release_hand_overs()
    finish_once_reaped(env, dsn)
    opt_outs = f"SELECT channel, source FROM contacts_phoneoptout WHERE phone = '{refused}'"
    assert query(dsn, opt_outs) == [("sms", "carrier")]
    assert refused in numbers(dsn, "skipped")
    assert [phone for phone, _ in Provider.received].count(refused) == 1


def finish_once_reaped(env: dict, dsn: dict) -> None:
    """After a worker was killed: time passes, the reaper's time-out is over, and a new worker
    runs the killed worker's task again, as a restarted worker would, to the broadcast's end."""
    execute(dsn, "UPDATE broadcasts_recipient SET claimed_at = claimed_at - interval '1 hour'"
                 " WHERE status = 'sending'")  # fmt: skip
    execute(dsn, f"UPDATE {TASKS} SET status = 'READY' WHERE status = 'RUNNING'")
    [worker] = start_workers(env | {"BROADCAST_RATE": "100000"}, 1, "--batch")
    assert worker.wait(timeout=300) == 0


def numbers(dsn: dict, status: str) -> set[str]:
    sql = f"SELECT phone FROM broadcasts_recipient WHERE status = '{status}'"
    return {phone for (phone,) in query(dsn, sql)}
