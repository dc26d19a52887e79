"""The portal's settings: defaults → config/portal.toml → D365_* environment → container secrets files.

Nothing here reads the environment at import time; `load_settings()` does, when the app or a
command starts. A wrong value stops start-up with `SettingsError`, a one-line message that names the
setting and what it expects (never its value when it is a secret).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("config/portal.toml")
ENV_PREFIX = "D365_"


class SettingsError(Exception):
    """A setting has a wrong type or value; the message names it and says what is expected."""


class FieldMap(BaseModel):
    """Tenant-specific Dataverse names (custom publisher prefixes, Power Pages identity columns)."""

    model_config = {"extra": "forbid"}

    # The incident's "Asociado" (associated end customer) lookup to account.
    incident_associate_column: str = "ino_asociado"
    incident_associate_navigation: str = "ino_Asociado"
    # An account's associated end customers are the accounts whose <this lookup> is that account.
    associate_parent_column: str = "parentaccountid"
    # Power Pages local-identity columns on contact.
    identity_username: str = "adx_identity_username"
    identity_passwordhash: str = "adx_identity_passwordhash"
    identity_securitystamp: str = "adx_identity_securitystamp"
    identity_logonenabled: str = "adx_identity_logonenabled"
    identity_lockoutenabled: str = "adx_identity_lockoutenabled"
    identity_accessfailedcount: str = "adx_identity_accessfailedcount"
    identity_lockoutenddate: str = "adx_identity_lockoutenddate"
    identity_emailconfirmed: str = "adx_identity_emailaddress1confirmed"
    identity_lastsuccessfullogin: str = "adx_identity_lastsuccessfullogin"
    # Power Pages' own "second factor required" flag (an email code when no app is set up).
    identity_twofactorenabled: str = "adx_identity_twofactorenabled"
    # The authenticator app's secret and the recovery codes, encrypted (issue 17, DESIGN.md decision
    # 22): a Multiple lines of text column (4000) the tenant adds to contact; Power Pages has none.
    identity_secondfactor: str = "d365p_secondfactor"

    @field_validator("*")
    @classmethod
    def _logical_name(cls, value: str) -> str:
        # Column names end up in OData URLs: only Dataverse logical/schema-name characters.
        if not value or not all(c.isalnum() or c == "_" for c in value):
            raise ValueError("must be a Dataverse column name (letters, digits and _)")
        return value


class IdentityProvider(BaseModel):
    """An OpenID Connect provider users sign in with (issue 17): Microsoft Entra ID or Entra External ID,
    through MSAL's authorization-code flow with PKCE."""

    model_config = {"extra": "forbid"}

    # In the redirect URI `<public_base_url>/signin-<name>` and the sign-in links.
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    kind: Literal["entra_id", "external_id"] = "entra_id"
    # Entra ID: https://login.microsoftonline.com/<tenant id> or …/organizations (any work account);
    # External ID: https://<subdomain>.ciamlogin.com/<tenant id>.
    authority: AnyHttpUrl
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    certificate_path: Path | None = None  # PEM private key + certificate, instead of a secret
    certificate_thumbprint: str | None = None
    # Only these tenants' users may sign in (Entra ID "organizations"); empty: the authority's own.
    allowed_tenants: list[str] = []
    label_es: str = Field("Iniciar sesión con Microsoft", min_length=1, max_length=60)
    label_en: str = Field("Sign in with Microsoft", min_length=1, max_length=60)
    # First sign-in with no link and no invitation: link the one portal contact with the same
    # address, only when the provider vouches for it (`email_verified`, Entra's `xms_edov`).
    match_verified_email: bool = False
    # The claim stored as the identity's key (adx_username): `sub` as Power Pages stores it, or `oid`.
    subject_claim: Literal["sub", "oid"] = "sub"
    # Sign-out also signs out at the provider (its end_session_endpoint).
    front_channel_logout: bool = False


class Settings(BaseSettings):
    """Every setting of the portal; `config/portal.example.toml` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        secrets_dir=None,
        case_sensitive=False,
    )

    # --- Dataverse connection -------------------------------------------------------------
    dataverse_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:5001")
    api_version: str = "v9.2"
    auth: Literal["client_secret", "certificate", "managed_identity", "static"] = "static"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    certificate_path: Path | None = None
    certificate_thumbprint: str | None = None
    certificate_password: SecretStr | None = None
    certificate_send_public: bool = False
    managed_identity_client_id: str | None = None
    static_token: SecretStr = SecretStr("demo-token")
    authority_host: AnyHttpUrl = AnyHttpUrl("https://login.microsoftonline.com")
    http_connect_timeout: float = Field(3.05, gt=0)
    http_read_timeout: float = Field(8.0, gt=0)
    retry_budget_seconds: float = Field(10.0, gt=0)
    http_pool_size: int = Field(16, ge=1)

    # --- The portal -----------------------------------------------------------------------
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:5000")
    # Host headers the portal answers (".example.com" admits subdomains); default: the public base
    # URL's host and the loopback names (a container's health check).
    trusted_hosts: list[str] | None = None
    secret_key: SecretStr | None = None
    demo: bool = False  # local demo over plain http: no Secure cookies, no HSTS
    default_language: Literal["es-ES", "en-US"] = "es-ES"
    timezone: str = "America/Bogota"
    knowledge_base_url: AnyHttpUrl | None = None
    # The portal's own knowledge base (issue 16): the tenant's published, external articles.
    knowledge_base_enabled: bool = True
    knowledge_base_anonymous: bool = False  # readable without signing in
    forums_url: AnyHttpUrl | None = None
    var_dir: Path = Path("var")
    redis_url: str | None = None
    # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto are trusted (0: none).
    trusted_proxies: int = Field(0, ge=0, le=5)
    session_idle_minutes: int = Field(30, ge=1)
    session_absolute_hours: int = Field(12, ge=1)
    password_min_length: int = Field(12, ge=8, le=64)
    lockout_max_failures: int = Field(5, ge=1)
    lockout_minutes: int = Field(15, ge=1)
    reset_token_minutes: int = Field(60, ge=5)
    invite_token_days: int = Field(7, ge=1)
    signin_rate_per_ip: int = Field(20, ge=1)  # per 5 minutes
    # Pages that read or write Dataverse, per signed-in contact: a burst, then a steady rate per second.
    contact_burst: int = Field(30, ge=1)
    contact_rate_per_second: float = Field(1.0, gt=0)
    # Drop Dataverse's ARRAffinity cookie so requests spread over the environment's web servers (each
    # with its own service-protection limits), as Microsoft advises for high throughput.
    dataverse_affinity_cookie: bool = True
    # Dataverse's service-protection limits per 300 s window (Microsoft's defaults): the portal sheds
    # work as what Dataverse says is left falls towards them.
    dataverse_requests_per_window: int = Field(6000, ge=1)
    dataverse_seconds_per_window: int = Field(1200, ge=1)
    # A failed sign-in and a forgot-password request answer no sooner than this after they arrived: a
    # known user's row costs Dataverse and the portal a little more than an unknown one, and the
    # answer's time must not tell which names and addresses exist.
    account_answer_floor_ms: int = Field(300, ge=0, le=5000)
    forgot_rate_per_ip: int = Field(5, ge=1)  # per 15 minutes
    reset_rate_per_ip: int = Field(10, ge=1)  # per 15 minutes
    page_size: int = Field(10, ge=5, le=100)
    # Option labels in every language come from Dataverse's metadata, re-read in the background.
    metadata_refresh_seconds: int = Field(3600, ge=1)
    fieldmap: FieldMap = FieldMap()

    # --- The case conversation (issue 13) ---------------------------------------------------
    # Agents' notes reach the portal only when their text starts with this prefix (Power Pages' own).
    web_note_prefix: str = Field("*WEB*", min_length=1, max_length=20)
    comment_max_files: int = Field(5, ge=0, le=20)
    # What the customer may do to a case from its page (each with a confirmation step).
    case_close_enabled: bool = True
    case_cancel_enabled: bool = False
    case_reopen_enabled: bool = True

    # --- Company roles (issue 15) -------------------------------------------------------------
    # Power Pages web roles (adx_webrole) whose names give the three levels; the highest held wins.
    role_contact: str = Field("Contacto", min_length=1, max_length=100)
    role_company: str = Field("Empresa", min_length=1, max_length=100)
    role_company_admin: str = Field("Administrador de la empresa", min_length=1, max_length=100)
    # The level of a contact holding none of the three (company: what every user saw before roles).
    role_default_level: Literal["contact", "company"] = "company"
    # Whether Contacto-level users see their company's hour banks.
    contact_level_hour_banks: bool = False
    # A signed-in user's rights are re-read from Dataverse at each page view (0), or at most once in
    # this many seconds: a role removed in Dynamics then takes effect within that time.
    rights_recheck_seconds: int = Field(0, ge=0, le=3600)

    # --- Sign-in with identity providers and the second factor (issue 17) -------------------
    identity_providers: list[IdentityProvider] = []
    local_signin_enabled: bool = True  # Usuario + Contraseña on "Iniciar Sesión"
    # Every local sign-in asks for a second factor (else: the users who turned it on).
    two_factor_required: bool = False
    # The authenticator app (needs fieldmap.identity_secondfactor on contact); else email codes only.
    two_factor_app: bool = True
    # Key of the second factor's encryption (Fernet, 32 url-safe base64 bytes); default: derived
    # from secret_key.
    two_factor_key: SecretStr | None = None
    two_factor_remember_days: int = Field(30, ge=0, le=90)  # "Recordar este dispositivo" (0: off)
    two_factor_rate_per_ip: int = Field(10, ge=1)  # codes per 5 minutes
    two_factor_mail_per_user: int = Field(3, ge=1, le=20)  # email codes per 10 minutes

    # --- The notifier (`d365portal notify`, issue 14) -----------------------------------------
    notify_poll_seconds: float = Field(15.0, gt=0, le=3600)
    # Another notifier takes over within this time when the one working dies.
    notify_lease_seconds: int = Field(60, ge=5, le=3600)
    notify_low_share: float = Field(0.2, gt=0, lt=1)  # an hour bank under this share of its total
    notify_expiry_days: int = Field(30, ge=1, le=365)  # an hour bank ending within this many days

    # --- Mail -----------------------------------------------------------------------------
    smtp_url: SecretStr | None = None  # smtp://user:pass@host:587?starttls=1 or smtps://…
    mail_from: str = "Soporte <soporte@localhost>"
    outbox_dir: Path | None = None  # default: <var_dir>/outbox

    # --- Running --------------------------------------------------------------------------
    bind: str = "127.0.0.1:5000"
    workers: int = Field(2, ge=1)
    threads: int = Field(8, ge=1)
    worker_timeout: int = Field(30, ge=5)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as America/Bogota") from exc
        return value

    @model_validator(mode="after")
    def _retries_fit_in_a_worker(self) -> Settings:
        # A page makes up to two Dataverse calls, each retried for at most the budget: both must
        # end before gunicorn gives up on the worker, or the user gets a dropped connection
        # instead of the "try again" page.
        if 2 * self.retry_budget_seconds + 2 >= self.worker_timeout:
            raise ValueError(
                f"retry_budget_seconds ({self.retry_budget_seconds:g}) must be less than half of "
                f"worker_timeout ({self.worker_timeout}) minus 1 second: a page makes up to two "
                "Dataverse calls and must answer before the worker is timed out"
            )
        return self

    @model_validator(mode="after")
    def _someone_can_sign_in(self) -> Settings:
        names = [p.name for p in self.identity_providers]
        if len(set(names)) != len(names):
            raise ValueError("identity_providers: each provider needs a name of its own")
        for provider in self.identity_providers:
            if provider.client_secret is None and provider.certificate_path is None:
                raise ValueError(
                    f"identity provider {provider.name!r}: needs client_secret or certificate_path"
                )
        if not self.local_signin_enabled and not self.identity_providers:
            raise ValueError("local_signin_enabled is false and no identity_providers: nobody could sign in")
        return self

    @property
    def web_api_url(self) -> str:
        """The Web API root, e.g. https://org.crm.dynamics.com/api/data/v9.2/."""
        return f"{str(self.dataverse_url).rstrip('/')}/api/data/{self.api_version}/"

    @property
    def mail_outbox(self) -> Path:
        """Where the file outbox writes .eml files."""
        return self.outbox_dir or self.var_dir / "outbox"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Highest priority first: explicit arguments, secrets files, environment, the TOML file."""
        config_file = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings]
        secrets_dir = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR", "/run/secrets")
        if Path(secrets_dir).is_dir():
            from pydantic_settings import SecretsSettingsSource

            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
        sources.append(env_settings)
        if config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


# What each kind of validation error expects, in plain words (pydantic's own text follows it).
_EXPECTED = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "url_parsing": "a URL such as https://org.crm.dynamics.com",
    "url_scheme": "an http:// or https:// URL",
    "missing": "a value",
}


def _setting_name(location: tuple[Any, ...]) -> str:
    """`workers (D365_WORKERS)` / `fieldmap.identity_username (D365_FIELDMAP__IDENTITY_USERNAME)`."""
    parts = [str(part) for part in location]
    return f"{'.'.join(parts)} ({ENV_PREFIX}{'__'.join(parts).upper()})"


def _describe(error: Mapping[str, Any]) -> str:
    location = tuple(error.get("loc", ()))
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "extra_forbidden":
        return f"unknown setting {'.'.join(str(p) for p in location)} (check the spelling)"
    expected = _EXPECTED.get(str(error.get("type", "")))
    if expected and expected.lower() not in message.lower():
        message = f"expected {expected} ({message})"
    if not location:
        return f"settings: {message}"
    return f"setting {_setting_name(location)}: {message}"


def _config_file() -> Path:
    """The TOML file: D365_CONFIG when set (it must exist), else config/portal.toml if present."""
    named = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if named and not Path(named).is_file():
        raise SettingsError(f"{ENV_PREFIX}CONFIG: no such file {named}")
    return Path(named) if named else DEFAULT_CONFIG_FILE


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from every source, turning validation errors into one-line messages."""
    from pydantic_settings.exceptions import SettingsError as SourceError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        # include_input=False: a secret typed into the wrong setting must not be echoed back.
        errors = exc.errors(include_input=False, include_url=False)
        raise SettingsError("; ".join(_describe(e) for e in errors)) from None
    except SourceError as exc:  # e.g. D365_FIELDMAP='{not json'
        field = str(exc).split('"')[1] if '"' in str(exc) else "settings"
        raise SettingsError(
            f"setting {_setting_name((field,))}: expected JSON (or set one key at a time, "
            f"e.g. {ENV_PREFIX}{field.upper()}__<NAME>=value)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"configuration file {_config_file()}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise SettingsError(
            f"configuration file {_config_file()}: cannot be read ({exc.strerror or exc})"
        ) from None
