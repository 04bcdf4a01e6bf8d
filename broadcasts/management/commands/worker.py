"""The task worker, which sends broadcasts: django-tasks-db's `db_worker`, which also

- queues sending for the broadcasts that were sending when it starts, the imports that
  were being checked or applied, and the bulk actions left running (an export left running
  failed), so that a restart after every worker crashed finishes them,
- waits for a database that went away (a restart, a fail-over) rather than exiting, and
- processes, in a thread of its own, the webhook events kept but not processed (their
  processing failed, or their web process died): at start, then every
  `INBOUND_SWEEP_SECONDS` those that old. No STOP waits for an operator.
- deletes, in another, the files of exports older than `EXPORT_KEEP_DAYS`, and on SQLite
  renews the planner's statistics: every hour.
- sends, in another, the double opt-in prompts that are due (an import's, and those held
  for quiet hours that have ended), every `HELD_PROMPTS_SECONDS`.
- corrects, in another, the contacts' consent on record that two writes of one number at
  once left behind (contacts.models.correct_consent_on_record), then counts each channel's
  reach and the outcomes of the broadcasts still changing, and folds the ledger's counts,
  for the Insights page: every `REACH_COUNT_SECONDS`.
"""

import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorker

from broadcasts import insights, sending
from contacts import bulk, imports
from contacts import services as contact_services
from contacts.models import LedgerCount, correct_consent_on_record
from crm import planner
from messaging import inbound

logger = logging.getLogger(__name__)


class Command(DbWorker):
    help = (
        "Run the task worker (it sends broadcasts, and processes the webhook events kept but "
        "not processed); it outlives database restarts."
    )

    def handle(self, *args, **options):
        resumed = sending.resume()
        if resumed:
            logger.info("Resumed sending %s broadcast(s)", resumed)
        resumed = imports.resume()
        if resumed:
            logger.info("Resumed %s import(s)", resumed)
        resumed = bulk.resume()
        if resumed:
            logger.info("Resumed %s bulk action(s)", resumed)
        # With --reload, the process that runs the tasks is the reloader's child.
        if not options["reload"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            threading.Thread(target=process_kept_events, name="inbound", daemon=True).start()
            threading.Thread(target=hourly, name="hourly", daemon=True).start()
            threading.Thread(target=count_reach, name="reach", daemon=True).start()
            threading.Thread(target=send_held_prompts, name="prompts", daemon=True).start()
        while True:
            try:
                return super().handle(*args, **options)
            except sending.DATABASE_GONE as error:
                logger.warning("The database went away (%s): waiting for it", error)
                sending.wait_for_database()


def process_kept_events() -> None:
    """Forever: process the kept webhook events that are `INBOUND_SWEEP_SECONDS` old and not
    processed yet (not younger: the web process may still be processing them), then sleep
    as long."""
    every = settings.INBOUND_SWEEP_SECONDS
    while True:
        try:
            close_old_connections()  # one the database's restart broke
            received_before = timezone.now() - timedelta(seconds=every)
            outcomes = list(inbound.process_pending(received_before=received_before))
            done = sum(error is None for _, error in outcomes)
            if outcomes:
                logger.info("Processed %s kept inbound event(s); %s failed again", done,
                            len(outcomes) - done)  # fmt: skip
        except Exception:  # the database is away, say: the next look closes the connection
            logger.exception("Could not process the kept inbound events: trying again")
        time.sleep(every)


def hourly() -> None:
    """Forever: delete the files of exports kept their days, renew the planner's statistics
    on SQLite, then sleep an hour."""
    while True:
        try:
            close_old_connections()
            if deleted := bulk.delete_expired_files():
                logger.info("Deleted %s piece(s) of expired export files", deleted)
            planner.renew_statistics()
        except Exception:  # the database is away, say: the next look closes the connection
            logger.exception("Could not do the hourly work: trying again")
        time.sleep(3600)


def send_held_prompts() -> None:
    """Forever: send the double opt-in prompts that are due, then sleep
    `HELD_PROMPTS_SECONDS` (at once again while there were more than a batch)."""
    while True:
        taken = 0
        try:
            close_old_connections()
            if taken := contact_services.send_held_prompts():
                logger.info("Took %s held confirmation prompt(s)", taken)
        except Exception:  # the database is away, say: the next look closes the connection
            logger.exception("Could not send the held prompts: trying again")
        if taken < contact_services.HELD_PROMPTS_AT_ONCE:
            time.sleep(settings.HELD_PROMPTS_SECONDS)


def count_reach() -> None:
    """Forever: correct the contacts' consent on record that writes at once left behind,
    count each channel's reach and the broadcasts' outcomes for the Insights page, then sleep
    `REACH_COUNT_SECONDS`."""
    while True:
        try:
            close_old_connections()
            if corrected := correct_consent_on_record():
                logger.warning("Corrected the consent on record of %s contact(s)", corrected)
        except Exception:  # the database is away, or a lock wait ended in a deadlock
            logger.exception("Could not correct the consent on record: trying again")
        try:
            close_old_connections()
            insights.count_reach()
            insights.count_outcomes()
            LedgerCount.fold()
        except Exception:  # the database is away, say: the next look closes the connection
            logger.exception("Could not count the reach: trying again")
        time.sleep(settings.REACH_COUNT_SECONDS)
