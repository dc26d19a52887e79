"""The application factory: settings in, a wired Flask app out."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from d365portal.settings import Settings, SettingsError, load_settings

PACKAGE_DIR = Path(__file__).resolve().parent
# templates/ and static/: inside the package when installed from a wheel (setup.py copies them
# there), at the top of the repository in a checkout or an editable install.
ASSETS_ROOT = PACKAGE_DIR if (PACKAGE_DIR / "templates").is_dir() else PACKAGE_DIR.parent


def _secret_key(settings: Settings) -> str:
    """The configured key; in demo mode a random one kept under var/ so every worker shares it."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if not settings.demo:
        raise SettingsError("D365_SECRET_KEY: required outside demo mode (a long random string)")
    path = settings.var_dir / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_app(settings: Settings | None = None) -> Flask:
    """Build the portal. Tests pass `settings`; production reads them from every source."""
    settings = settings or load_settings()
    app = Flask(
        __name__,
        template_folder=str(ASSETS_ROOT / "templates"),
        static_folder=str(ASSETS_ROOT / "static"),
    )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=_secret_key(settings),
        MAX_CONTENT_LENGTH=256 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )

    from d365portal import crm, i18n, identity, logs, mail, web

    logs.init_app(app)
    i18n.init_app(app)
    crm.init_app(app)
    mail.init_app(app)
    identity.init_app(app)
    web.init_app(app)
    if settings.trusted_proxies:
        # Behind a load balancer the peer is the balancer: take the client from X-Forwarded-For,
        # trusting exactly as many hops as configured (never more, or clients could spoof it).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app
