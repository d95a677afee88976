"""The admin app, with its modules imported when the URLconf is, not when Django starts.

Django's default `AdminConfig` imports every app's `admin.py` in `ready()`, and with them the services, forms and
reports they use: more than half a second of every `manage.py` command, Celery worker and test process, though only a
process that serves (or checks) the admin's URLs needs them. Here `vendbot/urls.py` discovers them, and the admin's
system check discovers them first, so `manage.py check` still checks every registered model admin.
"""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


def check_discovered_admin(app_configs, **kwargs):
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)


class AdminConfig(SimpleAdminConfig):
    def ready(self):
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_discovered_admin, checks.Tags.admin)
