"""The task worker, which sends broadcasts: django-tasks-db's `db_worker`, which also

- queues sending for the broadcasts that were sending when it starts, so that a restart
  after every worker crashed finishes them, and
- waits for a database that went away (a restart, a fail-over) rather than exiting.
"""

import logging

from django_tasks_db.management.commands.db_worker import Command as DbWorker

from broadcasts import sending

logger = logging.getLogger(__name__)


class Command(DbWorker):
    help = "Run the task worker (it sends broadcasts); it outlives database restarts."

    def handle(self, *args, **options):
        resumed = sending.resume()
        if resumed:
            logger.info("Resumed sending %s broadcast(s)", resumed)
        while True:
            try:
                return super().handle(*args, **options)
            except sending.DATABASE_GONE as error:
                logger.warning("The database went away (%s): waiting for it", error)
                sending.wait_for_database()
