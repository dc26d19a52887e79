"""`d365portal check` step 11: each identity provider (issue 17) publishes its discovery document and
signing keys, and accepts the portal's client id and secret or certificate; the second factor's key
opens. Nothing is signed in: the credentials are tried with the client-credentials grant (a token for
Microsoft Graph's `.default`, which needs no permission)."""

from __future__ import annotations

from d365portal.admin.check_steps import Context, Step

TITLE = "Sign-in providers answer and accept the portal's credentials"


def step_providers(ctx: Context) -> Step:
    """11. Discovery document, JWKS and credentials of every provider; the two_factor_key."""
    import jwt

    from d365portal.identity.external import ExternalSignInError, Providers

    assert ctx.settings is not None  # noqa: S101 - step 1 passed
    settings = ctx.settings
    problems, found = [], []
    if settings.two_factor_key is not None:
        from cryptography.fernet import Fernet

        try:
            Fernet(settings.two_factor_key.get_secret_value().encode())
        except ValueError:
            problems.append("two_factor_key is not a Fernet key (32 url-safe base64-encoded bytes)")
    for provider in Providers(settings):
        name = provider.name
        try:
            metadata = provider.metadata()
            keys = provider.signing_keys()
        except (ExternalSignInError, jwt.PyJWTError) as exc:
            problems.append(f"{name}: discovery at {provider.discovery_url} failed ({exc})")
            continue
        refused = provider.check_credentials()
        if refused:
            problems.append(f"{name}: the client id and secret/certificate were refused ({refused})")
            continue
        found.append(f"{name} (issuer {metadata['issuer']}, {len(keys)} signing keys)")
    if problems:
        return Step(11, "providers", TITLE, "fail", "; ".join(problems),
                    "check each [[identity_providers]] authority, client_id and client_secret or "
                    "certificate against the app registration in Entra (README, 'Sign-in with Microsoft "
                    "Entra ID')")  # fmt: skip
    if not found:
        return Step(11, "providers", TITLE, "pass", "no identity providers: Usuario + Contraseña only")
    return Step(11, "providers", TITLE, "pass", "; ".join(found))
