"""The WSGI entry point gunicorn serves (``carevalue serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carevalue.web.settings")
application = get_wsgi_application()
