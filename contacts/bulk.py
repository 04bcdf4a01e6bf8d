"""Bulk actions on contacts: applied while the page waits, or, for many contacts, by a task
(`BulkJob`), whose page shows how it went."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.tasks import task
from django.template.defaultfilters import pluralize
from django.utils import timezone

from contacts import csv_export, services
from contacts.forms import BulkActionForm
from contacts.models import ONLY_THE_CONTACT, BulkJob, Channel, Contact, ExportPiece
from crm.transactions import one_transaction_each


@transaction.atomic
def apply(action: str, contacts, tag, user) -> str:
    """Apply `action` to `contacts`, all or nothing; say what became of each of them, e.g.
    "SMS: 27 of 30 unsubscribed; 3 were already opted out."."""
    return _say(action, tag, _change(action, contacts, tag, user))


@dataclass(frozen=True)
class Outcome:
    """What an action did to the contacts it went through: each was changed, or already so,
    or skipped because of a hard opt-out (ONLY_THE_CONTACT)."""

    contacts: int = 0
    changed: int = 0
    hard: int = 0

    @property
    def already(self) -> int:
        # On PostgreSQL each statement sees the contacts as they are when it starts: one that
        # came to match the filters after the count was still changed, never "already" so.
        return max(0, self.contacts - self.changed - self.hard)

    def __add__(self, other: "Outcome") -> "Outcome":
        return Outcome(
            self.contacts + other.contacts, self.changed + other.changed, self.hard + other.hard
        )


def _change(action: str, contacts: QuerySet[Contact] | list[int], tag, user) -> Outcome:
    """Apply `action` to `contacts` (a query, or their ids), and count them in the same
    transaction."""
    verb, _, target = action.partition("_")
    count = len(contacts) if isinstance(contacts, list) else contacts.count()
    if verb == "unsubscribe":
        changed = services.unsubscribe_many(
            contacts=contacts, channel=Channel(target), by_user=user
        )
        return Outcome(count, changed)
    if verb == "resubscribe":
        changed, hard = services.resubscribe_many(
            contacts=contacts, channel=Channel(target), by_user=user
        )
        return Outcome(count, changed, hard)
    if verb == "add":
        return Outcome(count, services.tag_many(contacts=contacts, tag=tag))
    return Outcome(count, services.untag_many(contacts=contacts, tag=tag))


def _say(action: str, tag, outcome: Outcome) -> str:
    """What became of every contact: "SMS: 27 of 30 resubscribed; 2 were already subscribed;
    1 skipped: hard opt-out." (or "SMS: 30 resubscribed." when it changed them all)."""
    verb, _, target = action.partition("_")
    changed, already, hard = outcome.changed, outcome.already, outcome.hard
    count = changed + already + hard
    of = f"{changed:,}" if changed == count else f"{changed:,} of {count:,}"
    were = pluralize(already, "was,were")
    if verb in ("unsubscribe", "resubscribe"):
        said = f"{Channel(target).label}: {of} {verb}d"
        if already:
            state = "opted out" if verb == "unsubscribe" else "subscribed"
            said += f"; {already:,} {were} already {state}"
        if hard:
            said += f"; {hard:,} skipped: hard opt-out ({ONLY_THE_CONTACT})"
        return f"{said}."
    if verb == "add":
        said = f"Tag “{tag}”: added to {of} contact{pluralize(count)}"
        return f"{said}; {already:,} already had it." if already else f"{said}."
    said = f"Tag “{tag}”: removed from {of} contact{pluralize(count)}"
    return f"{said}; {already:,} did not have it." if already else f"{said}."


def too_many_to_wait_for(count: int) -> bool:
    """Whether an action on `count` contacts runs as a task rather than in the request
    (200,000 soft opt-outs take about ten seconds, more than a page should wait:
    bench/NOTES.md)."""
    return count > settings.BULK_INLINE_LIMIT


def queue(*, action: str, query: str, tag, user, count: int) -> BulkJob:
    """Keep the action as a job, and queue its task once the job is committed."""
    job = BulkJob.objects.create(action=action, query=query, tag=tag, by_user=user, count=count)
    transaction.on_commit(lambda: run_bulk_job.enqueue(job.pk))
    return job


@task
def run_bulk_job(job_id: int) -> None:
    run(job_id)


@task
def resume_bulk_job(job_id: int) -> None:
    """Go on with a job that a stopped worker left running (`resume`)."""
    job = BulkJob.objects.select_related("tag", "by_user").get(pk=job_id)
    if job.status == BulkJob.Status.RUNNING:
        _apply(job)


def resume() -> int:
    """Queue again the jobs left running when the workers stopped, each to go on from its
    last committed transaction; how many. A job that another worker still runs is safe to go
    on with: each transaction takes the job's row first and goes on from where the last one,
    whichever ran it, left off. An export's file is not gone on with: it failed (and if
    another worker still writes it, that worker's end says it is done)."""
    running = BulkJob.objects.filter(status=BulkJob.Status.RUNNING)
    for job in running.filter(action="export"):
        _finish(
            job, BulkJob.Status.FAILED, "The worker stopped while it wrote the file: export again."
        )
    actions = list(running.exclude(action="export").values_list("pk", flat=True))
    for pk in actions:
        resume_bulk_job.enqueue(pk)
    return len(actions)


def claim(job_id: int) -> bool:
    """Mark a queued job running; False if it was not queued any more (its task ran twice).
    A compare-and-set on its status: of two workers that claim it at once, one wins."""
    updated = BulkJob.objects.filter(pk=job_id, status=BulkJob.Status.QUEUED).update(
        status=BulkJob.Status.RUNNING
    )
    return updated == 1


def run(job_id: int) -> None:
    """Apply a queued job to the contacts its filters match now, `BULK_BATCH_SIZE` contacts a
    transaction, so that a STOP never waits for the whole job; each transaction also counts
    its contacts on the job, for its page.

    Each transaction finds its contacts (the next ones in id order that the filters match)
    once, and changes them by their ids: the filters of a tag, say, joined each of its
    statements to every contact of the tag (bench/NOTES.md)."""
    if not claim(job_id):
        return
    _apply(BulkJob.objects.select_related("tag", "by_user").get(pk=job_id))


def _apply(job: BulkJob) -> None:
    """Apply a running job from where its committed transactions left off (`done_through`),
    each transaction taking the job's row first."""
    form = BulkActionForm(
        {"action": job.action, "scope": "all", "query": job.query, "tag": job.tag_id or ""}
    )
    if not form.is_valid():
        errors = " ".join(error for errors in form.errors.values() for error in errors)
        _finish(job, BulkJob.Status.FAILED, f"Nothing was changed: {errors}")
        return
    contacts = form.chosen_contacts()
    if job.total is None:
        job.total = contacts.count()
        BulkJob.objects.filter(pk=job.pk).update(total=job.total)
    if job.action == "export":
        _export(job, contacts)
        return
    finished = False

    def batches() -> Iterator[None]:
        while not finished:
            yield

    def apply_next(_) -> None:
        nonlocal finished
        now = BulkJob.objects.select_for_update().get(pk=job.pk)
        following = contacts.filter(pk__gt=now.done_through).order_by("pk")
        ids = list(following.values_list("pk", flat=True)[: settings.BULK_BATCH_SIZE])
        if now.status != BulkJob.Status.RUNNING or not ids:
            finished = True
            return
        outcome = _outcome(now) + _change(job.action, ids, job.tag, job.by_user)
        BulkJob.objects.filter(pk=job.pk).update(
            done=outcome.contacts, done_through=ids[-1], changed=outcome.changed,
            hard=outcome.hard, result=_say(job.action, job.tag, outcome),
        )  # fmt: skip

    try:
        one_transaction_each(batches(), apply_next)
    except Exception:
        job.refresh_from_db(fields=["done", "result"])
        _finish(job, BulkJob.Status.FAILED, _failed(job))
        raise
    job.refresh_from_db()
    if job.status == BulkJob.Status.RUNNING:  # not finished by another worker meanwhile
        _finish(job, BulkJob.Status.DONE, _say(job.action, job.tag, _outcome(job)))


def _outcome(job: BulkJob) -> Outcome:
    return Outcome(job.done, job.changed, job.hard)


def _export(job: BulkJob, contacts: QuerySet[Contact]) -> None:
    """Write the contacts' CSV file a piece at a time, each piece kept in its own transaction
    and counted on the job, for its page."""
    delete_expired_files()
    try:
        # On SQLite the pieces are written in Python, one thread being as fast as two.
        workers = settings.EXPORT_WORKERS if connection.vendor == "postgresql" else 1
        file = csv_export.pieces(contacts.order_by(), workers=workers)
        for seq, (data, count) in enumerate(file):
            with transaction.atomic():
                _keep_piece(job, seq, data)
                BulkJob.objects.filter(pk=job.pk).update(done=F("done") + count)
    except Exception:
        ExportPiece.objects.filter(job=job).delete()
        _finish(job, BulkJob.Status.FAILED, "The export failed: no file was written.")
        raise
    job.refresh_from_db(fields=["done"])
    _finish(job, BulkJob.Status.DONE, f"{job.done:,} contact{pluralize(job.done)} exported.")


def _keep_piece(job: BulkJob, seq: int, data: bytes) -> None:
    """Keep a piece of the export's file. On PostgreSQL the piece goes as bytes, by a cursor
    that binds its parameters on the server: Django's cursor would write it into the
    statement, in hex, at twice its size (bench/NOTES.md)."""
    if connection.vendor != "postgresql":
        ExportPiece.objects.create(job=job, seq=seq, data=data)
        return
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"INSERT INTO {ExportPiece._meta.db_table} (job_id, seq, data) VALUES (%s, %s, %b)",
            [job.pk, seq, data],
        )


def file_kept(job: BulkJob) -> bool:
    """Whether the job wrote a file that its page still offers: an export done less than
    EXPORT_KEEP_DAYS ago."""
    return (
        job.action == "export"
        and job.status == BulkJob.Status.DONE
        and job.finished_at is not None
        and timezone.now() < job.finished_at + timedelta(days=settings.EXPORT_KEEP_DAYS)
        and ExportPiece.objects.filter(job=job, seq=0).exists()
    )


def file_pieces(job: BulkJob) -> Iterator[bytes]:
    """The export's file, a piece at a time: each read when it is sent, so that the first bytes
    go at once and memory holds one piece."""
    pieces = ExportPiece.objects.filter(job=job).values_list("data", flat=True)
    seq = 0
    while (data := pieces.filter(seq=seq).first()) is not None:
        yield bytes(data)
        seq += 1


# A file is deleted this long after its page stops offering it: a download begun just before
# then has that long to finish.
DOWNLOAD_GRACE = timedelta(days=1)


def delete_expired_files() -> int:
    """Delete the files of exports finished more than EXPORT_KEEP_DAYS ago, and DOWNLOAD_GRACE
    (an export's task does so, and the worker every hour); how many pieces."""
    expired = timezone.now() - timedelta(days=settings.EXPORT_KEEP_DAYS) - DOWNLOAD_GRACE
    deleted, _ = ExportPiece.objects.filter(job__finished_at__lt=expired).delete()
    return deleted


def _failed(job: BulkJob) -> str:
    """What a job that failed had done: the transactions before the one that failed."""
    if not job.done:
        return "Nothing was changed: the action failed."
    return (
        f"The action failed after {job.done:,} of {job.total:,} contacts. Changed before it "
        f"failed: {job.result} The other contacts were not changed."
    )


def _finish(job: BulkJob, status: str, result: str) -> None:
    BulkJob.objects.filter(pk=job.pk).update(
        status=status, result=result, finished_at=timezone.now()
    )
