from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from contacts.models import Channel, Contact


@permission_required("contacts.view_contact", raise_exception=True)
def contact_list(request: HttpRequest) -> HttpResponse:
    """A plain first version of the Contacts table; the table issue replaces it."""
    contacts = Contact.objects.prefetch_related("opt_outs")
    page = Paginator(contacts, 50).get_page(request.GET.get("page"))
    return render(request, "contacts/contact_list.html", {"page": page, "channels": Channel})
