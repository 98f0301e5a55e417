"""WSGI entry point: ``granian --interface wsgi billfold.wsgi:application``."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billfold.settings")

application = get_wsgi_application()

# What loading Django and Billfold made lives as long as the process: set it aside so the garbage
# collector's full passes no longer walk it (shorter pauses in the middle of requests).
gc.freeze()
