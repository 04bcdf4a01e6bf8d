"""An import of many rows, and a STOP that arrives while it is applied: real processes
(gunicorn, `manage.py worker`) on a database of their own, of the test run's engine
(tests/app_processes.py). The STOP is answered and holds in the middle of the import, and the
import still finishes right."""

from tests.app_processes import wait_until

ROWS = 40_000  # the file of the report: a STOP during its import was lost on SQLite

QUEUE = """
import io
from django.contrib.auth.models import User
from django.core.files import File
from contacts import imports
from contacts.tasks import apply_import
rows = "".join(f"Imported {{i}},+1919{{2000000 + i}},soft\\n" for i in range({rows}))
upload = File(io.BytesIO(("name,phone,sms\\n" + rows).encode()), name="big.csv")
contact_import = imports.store(upload, by_user=User.objects.get(username="admin"))
imports.check(contact_import)
assert imports.start_applying(contact_import), contact_import.status
apply_import.enqueue(contact_import.pk)
print(contact_import.pk)
"""


def test_a_stop_in_the_middle_of_an_import_is_answered_and_holds(database, serve, worker):
    server = serve(database)
    assert server.sms("+12125550100", "HELP")[0] == 200  # the server is up, and warm
    worker(database, IMPORT_BATCH_SIZE="2000")
    job = int(database.run(QUEUE.format(rows=ROWS)).split()[-1])
    progress = "SELECT status, rows_applied, rows_ready FROM contacts_contactimport WHERE id = %s"
    wait_until(lambda: database.query(progress, (job,))[0][1] > 0, "the import's first batch")

    phone = f"+1919{2000000 + ROWS - 1}"  # the last row's: its contact comes after the STOP
    status, answer = server.sms(phone, "STOP")
    # Read after the answer: the import was under way before the STOP and after its answer.
    during = database.query(progress, (job,))[0]
    assert status == 200
    assert "You have been unsubscribed from Demo Dental" in answer
    assert during[0] == "applying" and 0 < during[1] < during[2], during
    opt_out = "SELECT source, words FROM contacts_phoneoptout WHERE phone = %s AND channel = 'sms'"
    assert database.query(opt_out, (phone,)) == [("keyword", "STOP")]

    finished = "SELECT status FROM contacts_contactimport WHERE id = %s AND finished_at IS NOT NULL"
    wait_until(lambda: database.query(finished, (job,)), "the end of the import")
    counts = (
        "SELECT status, created, opted_out, kept_hard FROM contacts_contactimport WHERE id = %s"
    )
    # The last row's contact came with its number's hard opt-out, which the row's "soft" kept.
    assert database.query(counts, (job,)) == [("done", ROWS, ROWS - 1, 1)]
    assert database.query(
        "SELECT o.kind, count(*) FROM contacts_optout o WHERE o.channel = 'sms' GROUP BY o.kind"
        " ORDER BY o.kind"
    ) == [("hard", 1), ("soft", ROWS - 1)]  # fmt: skip
