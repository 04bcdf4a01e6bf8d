import codecs
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

FORM = "application/x-www-form-urlencoded"


def utf8_forms(get_response: Callable[[HttpRequest], HttpResponse]):
    """Refuse a form sent in a charset other than UTF-8 before anything reads it, and read
    UTF-8 under another name ("utf8") as UTF-8.

    Django refuses such a form when request.POST is first read (BadRequest: a 400); but with
    DEBUG on, its error page reads request.POST again, and the second BadRequest escaped as a
    500 (a webhook, or any page's POST through the CSRF check).
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        # Django keeps only a charset that Python knows; `codecs.lookup` gives its own name.
        if request.content_type == FORM and request.encoding:
            if codecs.lookup(request.encoding).name != "utf-8":
                return HttpResponse("Send forms in UTF-8.", status=415, content_type="text/plain")
            request.encoding = "utf-8"
        return get_response(request)

    return middleware
