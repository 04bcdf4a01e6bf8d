"""Long writes as a series of short transactions, so that a webhook never waits long behind
them (a STOP is answered within Twilio's 15 seconds, or on SQLite, within the busy timeout)."""

import time
from collections.abc import Callable, Iterable

from django.db import DEFAULT_DB_ALIAS, connections, transaction

# SQLite's lock has no queue: a writer that waits for it sleeps between tries, 1, 2, 5, 10,
# 15, 20, 25 … ms, each sleep no longer than it has waited so far, and never more than 100 ms.
# A pause as long as the transaction (at most this) lets it try once more before the next
# transaction; without one, a STOP waited through many (bench/NOTES.md).
SQLITE_MOST_PAUSE = 0.15


def one_transaction_each[B](
    batches: Iterable[B], apply: Callable[[B], object], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Call `apply` on each of `batches` in a transaction of its own; `batches` is read
    between transactions. A failure rolls back its own batch only, and is raised.

    Whoever waits to write gets in between two transactions: on PostgreSQL, whose lock waits
    are queued, at once; on SQLite after a pause (above).
    """
    sqlite = connections[using].vendor == "sqlite"
    for batch in batches:
        started = time.monotonic()
        with transaction.atomic(using=using):
            apply(batch)
        if sqlite:
            time.sleep(min(time.monotonic() - started, SQLITE_MOST_PAUSE))
