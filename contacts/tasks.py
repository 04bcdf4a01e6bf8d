from django.tasks import task

from contacts import bulk, imports
from contacts.models import ContactImport


@task
def run_bulk_job(job_id: int) -> None:
    bulk.run(job_id)


@task
def check_import(import_id: int) -> None:
    imports.check(ContactImport.objects.get(pk=import_id))


@task
def apply_import(import_id: int) -> None:
    imports.apply(ContactImport.objects.get(pk=import_id))
