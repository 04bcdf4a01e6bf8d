"""Bulk actions on contacts: applied while the page waits, or, for many contacts, by a task
(`BulkJob`), whose page shows how it went."""

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from contacts import services
from contacts.models import BulkJob, Channel


@transaction.atomic
def apply(action: str, contacts, tag, user) -> str:
    """Apply `action` to `contacts`, all or nothing; say what changed, e.g. "SMS: 3
    unsubscribed."."""
    verb, _, target = action.partition("_")
    if verb == "unsubscribe":
        channel = Channel(target)
        changed = services.unsubscribe_many(contacts=contacts, channel=channel, by_user=user)
        return f"{channel.label}: {changed} unsubscribed."
    if verb == "resubscribe":
        channel = Channel(target)
        changed, skipped = services.resubscribe_many(
            contacts=contacts, channel=channel, by_user=user
        )
        hard = f", {skipped} skipped: hard opt-out" if skipped else ""
        return f"{channel.label}: {changed} resubscribed{hard}."
    if verb == "add":
        changed = services.tag_many(contacts=contacts, tag=tag)
        return f"Tag “{tag}”: added to {changed} contact{pluralize(changed)}."
    changed = services.untag_many(contacts=contacts, tag=tag)
    return f"Tag “{tag}”: removed from {changed} contact{pluralize(changed)}."


def too_many_to_wait_for(count: int) -> bool:
    """Whether an action on `count` contacts runs as a task rather than in the request (a
    million soft opt-outs take about 13 seconds, more than a page should wait)."""
    return count > settings.BULK_INLINE_LIMIT


def queue(*, action: str, query: str, tag, user, count: int) -> BulkJob:
    """Keep the action as a job, and queue its task once the job is committed."""
    from contacts.tasks import run_bulk_job

    job = BulkJob.objects.create(action=action, query=query, tag=tag, by_user=user, count=count)
    transaction.on_commit(lambda: run_bulk_job.enqueue(job.pk))
    return job


def run(job_id: int) -> None:
    """Apply a queued job to the contacts its filters match now."""
    from contacts.forms import BulkActionForm

    job = BulkJob.objects.select_related("tag", "by_user").get(pk=job_id)
    if job.status != BulkJob.Status.QUEUED:
        return  # its task ran twice
    BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.RUNNING)
    form = BulkActionForm(
        {"action": job.action, "scope": "all", "query": job.query, "tag": job.tag_id or ""}
    )
    if not form.is_valid():
        errors = " ".join(error for errors in form.errors.values() for error in errors)
        _finish(job, BulkJob.Status.FAILED, f"Nothing was changed: {errors}")
        return
    try:
        result = apply(job.action, form.chosen_contacts(), job.tag, job.by_user)
    except Exception:
        _finish(job, BulkJob.Status.FAILED, "Nothing was changed: the action failed.")
        raise
    _finish(job, BulkJob.Status.DONE, result)


def _finish(job: BulkJob, status: str, result: str) -> None:
    BulkJob.objects.filter(pk=job.pk).update(
        status=status, result=result, finished_at=timezone.now()
    )
