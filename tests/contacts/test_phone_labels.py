"""A number with a label or a URI scheme before it ("Cell: 415-555-0123", "tel:+1…") reads
as before: only letters read as digits are refused (a cold review found the first form
refused every letter, with an error about an O for 0)."""

import pytest

from contacts.phones import normalize_phone


@pytest.mark.parametrize(
    "typed",
    [
        "tel:+14155550123",  # a tel: link copied from a web page or a vCard export
        "tel:+1-415-555-0123",
        "Tel: 415-555-0123",
        "Cell: 415-555-0123",
        "Mobile 415 555 0123",
    ],
)
def test_a_labelled_number_is_read_as_before(typed):
    assert normalize_phone(typed) == "+14155550123"


@pytest.mark.django_db
def test_a_file_of_tel_links_imports_as_before():
    """A file with any problem imports nothing: one "tel:" number now stops the whole file."""
    import io

    from django.core.files import File

    from contacts import imports

    data = b"Name,Phone\nAna,tel:+14155550101\nBob,(415) 555-0102\n"
    contact_import = imports.store(File(io.BytesIO(data), name="links.csv"), by_user=None)
    imports.check(contact_import)
    contact_import.refresh_from_db()
    assert contact_import.status == contact_import.Status.READY
