from django.tasks import task

from contacts import bulk


@task
def run_bulk_job(job_id: int) -> None:
    bulk.run(job_id)
