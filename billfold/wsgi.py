"""WSGI entry point: ``granian --interface wsgi billfold.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billfold.settings")

application = get_wsgi_application()
