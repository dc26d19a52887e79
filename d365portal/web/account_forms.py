"""The forms of the account pages (sign-in, forgot/reset password, profile security).

Labels and messages are looked up when rendered (`LazyText`), so one form class serves both languages.
Password fields never echo what was typed back into the page.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from d365portal.i18n import gettext

# A practical address check (the mail server is the real judge): something@something.tld, no spaces.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class LazyText:
    """A message key rendered in the language of the request that shows it."""

    def __init__(self, key: str, **values: object) -> None:
        self.key = key
        self.values = values

    def __str__(self) -> str:
        return gettext(self.key, **self.values)

    def __mod__(self, values: object) -> str:
        # Some WTForms validators interpolate their message (`message % {...}`).
        return str(self) % values if "%(" in str(self) else str(self)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


def _required() -> DataRequired:
    return DataRequired(message=LazyText("auth.required"))  # type: ignore[arg-type]


def _at_most(limit: int) -> Length:
    """At most `limit` characters, said in the page's language (WTForms' own text is English only)."""
    return Length(max=limit, message=LazyText("auth.too_long", max=limit))  # type: ignore[arg-type]


class LoginForm(FlaskForm):
    """Iniciar Sesión: Usuario, Contraseña."""

    username = StringField(LazyText("auth.username"), validators=[_required(), _at_most(100)])  # type: ignore[arg-type]
    password = PasswordField(LazyText("auth.password"), validators=[_required(), _at_most(256)])  # type: ignore[arg-type]
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    """¿Ha olvidado la contraseña?: Correo electrónico."""

    email = EmailField(
        LazyText("auth.email"),  # type: ignore[arg-type]
        validators=[
            _required(),
            _at_most(100),
            Regexp(EMAIL_PATTERN, message=LazyText("auth.email_invalid")),  # type: ignore[arg-type]
        ],
    )


class ResetPasswordForm(FlaskForm):
    """Restablecer contraseña: Contraseña nueva, Confirmar nueva contraseña."""

    password = PasswordField(LazyText("auth.new_password"), validators=[_required()])  # type: ignore[arg-type]
    confirm = PasswordField(
        LazyText("auth.confirm_password"),  # type: ignore[arg-type]
        validators=[_required(), EqualTo("password", message=LazyText("auth.passwords_differ"))],  # type: ignore[arg-type]
    )


class ChangePasswordForm(FlaskForm):
    """Cambiar contraseña: current, new, confirmation."""

    current = PasswordField(LazyText("profile.current_password"), validators=[_required()])  # type: ignore[arg-type]
    password = PasswordField(LazyText("auth.new_password"), validators=[_required()])  # type: ignore[arg-type]
    confirm = PasswordField(
        LazyText("auth.confirm_password"),  # type: ignore[arg-type]
        validators=[_required(), EqualTo("password", message=LazyText("auth.passwords_differ"))],  # type: ignore[arg-type]
    )


class ChangeEmailForm(FlaskForm):
    """Cambiar correo electrónico: new address, current password."""

    email = EmailField(
        LazyText("profile.new_email"),  # type: ignore[arg-type]
        validators=[
            _required(),
            _at_most(100),
            Regexp(EMAIL_PATTERN, message=LazyText("auth.email_invalid")),  # type: ignore[arg-type]
        ],
    )
    current = PasswordField(LazyText("profile.current_password"), validators=[_required()])  # type: ignore[arg-type]
