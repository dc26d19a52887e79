# d365portal — the portal in production: `d365portal serve` (gunicorn) as a non-root user, logs to stdout.
#
# Layout: the build stage builds the project's wheel (which carries templates/, static/ and the
# message catalogues inside the package) and installs it, with its dependencies, into a virtualenv at
# /opt/venv; the runtime stage copies only that virtualenv and config/, so the image has no source
# tree, compiler or build tools. /app is the working directory (config/portal.toml, var/).
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
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY d365portal ./d365portal
COPY templates ./templates
COPY static ./static
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels /src \
    && /opt/venv/bin/pip install /wheels/d365portal-*.whl \
    && /opt/venv/bin/python -c "import d365portal.app as a, gunicorn, msal; assert (a.ASSETS_ROOT / 'templates').is_dir()"

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
COPY config ./config
RUN mkdir -p /app/var && chown portal:portal /app/var
USER portal
EXPOSE 8000
# Liveness only: /healthz never touches Dataverse (use /readyz for a load balancer's readiness).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('D365_BIND', ':8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["d365portal", "serve"]
