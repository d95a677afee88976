"""`manage.py runserver` on daphne (HTTP and WebSockets), without daphne's app in INSTALLED_APPS.

daphne's own app imports its server and installs Twisted's reactor in every process that loads the apps (0.15–0.2 s
for a Celery worker, a test run or `manage.py simulate`); this app only points `runserver` at daphne's command, so the
server is imported when `runserver` runs. `bin/run` and production start `daphne` itself, which installs the reactor
first as it always did.
"""
