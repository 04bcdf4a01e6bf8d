import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()

# Import the URLconf, and with it every view, now rather than on each process's first request,
# which otherwise waits half a second: after a deploy or a restart, that is every webhook
# arriving at once.
import_module(settings.ROOT_URLCONF)
