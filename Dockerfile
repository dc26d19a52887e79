# d365portal — the portal in production: `d365portal serve` (gunicorn) as a non-root user, logs to stdout.
#
# Layout: the code, templates/, static/ and config/ live together in /app, because the app finds its
# templates and static files next to the package (PROJECT_ROOT = the directory above d365portal/).
# The build stage installs the dependencies and the project *in place* (`pip install -e /app`) into a
# virtualenv at /opt/venv; the runtime stage copies both directories to the same paths, so the
# `d365portal` command and `import d365portal` resolve to /app without a compiler or pip at run time.
#
#   docker build -t d365portal .
#   docker run -p 8000:8000 -e D365_DATAVERSE_URL=https://org.crm.dynamics.com -e D365_AUTH=client_secret \
#     -e D365_TENANT_ID=… -e D365_CLIENT_ID=… --secret … d365portal
#
# Settings: the same as anywhere (docs/CONFIGURATION.md): /app/config/portal.toml if mounted (or
# D365_CONFIG), D365_* variables, and secrets files in /run/secrets (e.g. /run/secrets/d365_client_secret,
# /run/secrets/d365_secret_key). Writable state (the embedded session store, the mail outbox) goes to
# /app/var: mount a volume there, or set D365_REDIS_URL and D365_SMTP_URL.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY d365portal ./d365portal
RUN /opt/venv/bin/pip install -e /app \
    && /opt/venv/bin/python -c "import d365portal, gunicorn, msal, flask"

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    D365_BIND=0.0.0.0:8000 \
    D365_VAR_DIR=/app/var \
    D365_LOG_FORMAT=json
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home portal
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /app /app
COPY templates ./templates
COPY static ./static
COPY config ./config
RUN mkdir -p /app/var && chown portal:portal /app/var
USER portal
EXPOSE 8000
# Liveness only: /healthz never touches Dataverse (use /readyz for a load balancer's readiness).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('D365_BIND', ':8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["d365portal", "serve"]
