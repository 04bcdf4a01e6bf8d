import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()

# Import every view now rather than on each process's first request, which otherwise waits
# half a second: after a deploy or a restart, that is every webhook arriving at once.
get_resolver().check()  # imports the URLconf, and with it every view
