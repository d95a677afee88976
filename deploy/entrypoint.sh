#!/bin/sh
# The image's one entry point: the first argument says what this container is.
#   web      daphne (HTTP + WebSockets) on 0.0.0.0:$PORT, trusting the proxy's X-Forwarded-* headers, with the
#            graceful stop of vendbot/server.py (SIGTERM: drain requests, close sockets with 1012; docs/operations.md)
#   worker   a Celery worker ($CELERY_CONCURRENCY processes)
#   beat     Celery beat (django-celery-beat's database schedule): run exactly one
#   migrate  apply the database migrations, then exit (Compose's one-shot service, the Kubernetes Job)
#   manage   any manage.py command, e.g. `manage seed_demo` or `manage createsuperuser`
set -eu

command="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$command" in
  web)
    exec python -m vendbot.server --bind 0.0.0.0 --port "${PORT:-8000}" --proxy-headers vendbot.asgi:application "$@"
    ;;
  worker)
    exec celery -A vendbot worker --loglevel "${LOG_LEVEL:-INFO}" --concurrency "${CELERY_CONCURRENCY:-2}" "$@"
    ;;
  beat)
    exec celery -A vendbot beat --loglevel "${LOG_LEVEL:-INFO}" --schedule /tmp/celerybeat-schedule "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    echo "usage: entrypoint.sh web|worker|beat|migrate|manage <command> (got: $command)" >&2
    exit 64
    ;;
esac
