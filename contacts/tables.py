import django_tables2 as tables

from contacts.models import Contact

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


class ContactTable(tables.Table):
    """The Contacts table's columns, ordering and visibility.

    Its rows are drawn by templates/contacts/contact_table.html and paged by contacts.paging,
    not cell by cell and page by page number through django-tables2, which cost several
    times more.
    """

    selection = tables.CheckBoxColumn(accessor="pk", orderable=False)
    name = tables.Column(order_by=("name", "id"))
    phone = tables.Column(order_by=("phone", "id"))
    email = tables.Column(order_by=("email", "id"))
    tags = tables.Column(orderable=False, empty_values=())
    status = tables.Column(order_by=("status", "name", "id"))
    opt_in = tables.Column(verbose_name="Opt-In Status", orderable=False, empty_values=())
    created_at = tables.Column(verbose_name="Created", order_by=("created_at", "id"))

    class Meta:
        model = Contact
        fields = ["selection", "name", "phone", "email", "tags", "status", "opt_in", "created_at"]
        order_by = ("name",)

    # Every column but the selection box and the name can be hidden from the Columns menu.
    hideable = ["phone", "email", "tags", "status", "opt_in", "created_at"]

    @property
    def visible(self) -> set[str]:
        return {column.name for column in self.columns if column.visible}
