"""Tasks queued before their functions moved beside their work are still run: the worker
(django_tasks_db's DBTaskResult.task) imports a queued task by the path it was queued under."""

import pytest
from django.tasks import Task
from django.utils.module_loading import import_string

TASK_PATHS = [
    "broadcasts.tasks.send_broadcast",
    "broadcasts.tasks.start_scheduled",
    "contacts.tasks.run_bulk_job",
    "contacts.tasks.check_import",
    "contacts.tasks.apply_import",
]


@pytest.mark.parametrize("path", TASK_PATHS)
def test_a_task_queued_under_its_old_path_is_found(path):
    task = import_string(path)
    assert isinstance(task, Task)
    assert task.name == path.rsplit(".", 1)[1]
