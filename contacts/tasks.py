"""The paths of the tasks queued before they moved beside their work (to bulk and imports):
the task worker finds a queued task by the path it was queued under."""

from contacts.bulk import run_bulk_job
from contacts.imports import apply_import, check_import

__all__ = ["apply_import", "check_import", "run_bulk_job"]
