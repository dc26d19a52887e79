"""A simulated customer walking the manual's journeys with its own `requests.Session`.

Every HTTP exchange is one page view: it is timed, classified by page and recorded. Redirects are
followed by hand so that a redirect's target counts as its own page view (as the browser sees it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from bench import html

LANG = "es-ES"
SEARCH_WORDS = ("impresora", "correo", "vpn", "reporte", "licencia", "servidor")

# Page kinds, in journey order; the report lists them in this order.
PAGES = (
    "login_form",
    "sign_in",
    "home",
    "case_list",
    "search",
    "case",
    "comment",
    "download",
    "case_action",
    "new_case_form",
    "associates",
    "associate_select",
    "submit",
    "hour_banks",
    "hour_bank",
    "notifications",
    "security",
    "company_users",
    "company_action",
    "company_invite",
    "follow",
    "kb_search",
    "kb_article",
    "kb_rate",
    "suggest",
    "sign_out",
)
KB_WORDS = ("vpn", "endpoint", "informes", "contraseña", "impresora")


@dataclass(frozen=True)
class Sample:
    """One page view as the customer saw it."""

    page: str
    started: float  # time.monotonic()
    ms: float
    status: int
    ok: bool
    size: int
    note: str = ""


class JourneyError(Exception):
    """The portal answered something a customer would see as an error; the journey stops here."""


def classify(method: str, url: str) -> str:
    """The page kind of a request, from its method and path."""
    parts = urlsplit(url)
    path, query = parts.path, parse_qs(parts.query)
    if path.endswith("/Account/Login/Login"):
        return "sign_in" if method == "POST" else "login_form"
    if path.endswith("/Account/Login/LogOff"):
        return "sign_out"
    if "/support/create-case/associates" in path:
        return "associates"
    if "/support/create-case" in path:
        return "submit" if method == "POST" else "new_case_form"
    if "/support/case/" in path and "/files/" in path:
        return "download"
    if "/support/case/" in path and path.endswith("/comment"):
        return "comment"
    if "/support/case/" in path and path.rsplit("/", 1)[-1] in ("close", "cancel", "reopen"):
        return "case_action"
    if path.endswith("/profile/notifications"):
        return "notifications"
    if "/profile/security" in path:
        return "security"
    if "/knowledgebase/suggest" in path:
        return "suggest"
    if "/knowledgebase/" in path and path.endswith("/rate"):
        return "kb_rate"
    if "/knowledgebase/" in path and path.rstrip("/").split("/")[-1] != "knowledgebase":
        return "kb_article"
    if "/knowledgebase" in path:
        return "kb_search"
    if path.endswith("/company/users/invite"):
        return "company_invite"
    if "/company/users/" in path:
        return "company_action"
    if "/support/case/" in path and path.endswith("/follow"):
        return "follow"
    if path.endswith("/company/users"):
        return "company_users"
    if "/support/case/" in path:
        return "case"
    if "/support" in path:
        return "search" if any(k in query for k in ("q", "search", "buscar", "s")) else "case_list"
    if "/vigencia-soporte/" in path and path.rstrip("/").split("/")[-1] != "vigencia-soporte":
        return "hour_bank"
    if "/vigencia-soporte" in path:
        return "hour_banks"
    return "home" if method == "GET" else "other"


Hook = Callable[[str, str, str], None]  # (page kind, method, url)


class Customer:
    """One signed-in (or signing-in) customer of the portal."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        record: Callable[[Sample], None],
        *,
        seed: int = 0,
        before: Hook | None = None,
        after: Hook | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self._record = record
        self._rng = random.Random(seed)
        self._before = before
        self._after = after
        self._timeout = timeout
        self.session = requests.Session()

    # --- one exchange -------------------------------------------------------------------------
    def fetch(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None = None,
        *,
        page: str | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    ) -> requests.Response:
        """One page view (redirects followed as separate views); raises JourneyError on a bad answer.

        `page` names the first view when the URL alone does not tell (one POST target, two uses)."""
        url = urljoin(self.base_url + "/", url)
        for hop in range(5):
            kind = (page if hop == 0 else None) or classify(method, url)
            if self._before:
                self._before(kind, method, url)
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, data=data, files=files, allow_redirects=False, timeout=self._timeout
                )
                body = response.content
            except requests.RequestException as exc:
                ms = (time.monotonic() - started) * 1000
                self._record(Sample(kind, started, ms, 0, False, 0, type(exc).__name__))
                raise JourneyError(f"{kind}: {type(exc).__name__}") from exc
            ms = (time.monotonic() - started) * 1000
            if self._after:
                self._after(kind, method, url)
            ok = response.status_code < 400
            note = "" if ok else f"HTTP {response.status_code}"
            self._record(Sample(kind, started, ms, response.status_code, ok, len(body), note))
            if not ok:
                raise JourneyError(f"{kind}: HTTP {response.status_code} at {urlsplit(url).path}")
            if response.status_code in (301, 302, 303, 307, 308):
                url = urljoin(url, response.headers["Location"])
                if response.status_code in (301, 302, 303):
                    method, data, files = "GET", None, None
                continue
            return response
        raise JourneyError(f"too many redirects from {url}")

    def submit(
        self,
        form: html.Form,
        page_url: str,
        values: dict[str, str] | None = None,
        *,
        button: tuple[str, str] | None = None,
        page: str | None = None,
    ) -> requests.Response:
        """Submit `form` (CSRF token and hidden fields included) with `values`, pressing `button`."""
        fields = {**form.fields, **(values or {})}
        action = form.action or page_url
        if button is not None:
            pressed = form.button(*button)
            if pressed is None:
                raise JourneyError(f"{page or 'form'}: no button {button[0]}={button[1]}")
            fields[pressed[0]] = pressed[1]
            action = pressed[2] or action
        target = urljoin(page_url, action)
        if form.method == "post":
            return self.fetch("POST", target, data=fields, page=page)
        return self.fetch("GET", f"{target.split('?', 1)[0]}?{urlencode(fields)}", page=page)

    # --- the manual's procedures --------------------------------------------------------------
    def sign_in(self) -> requests.Response:
        """Ingresar al Portal: the form, then Usuario + Contraseña + Iniciar Sesión."""
        self.session.cookies.clear()
        login_url = f"/{LANG}/Account/Login/Login"
        page = self.fetch("GET", login_url)
        form = _login_form(page.text)
        if form is None:
            raise JourneyError("login_form: no sign-in form")
        user_field = form.named_like("user", "usuario", "name") or "username"
        pass_field = next((n for n, kind, _v in form.controls if kind == "password"), "password")
        landing = self.submit(form, page.url, {user_field: self.username, pass_field: self.password})
        if "/Account/Login/Login" in urlsplit(landing.url).path:
            raise JourneyError("sign_in: the portal refused the bench user's credentials")
        return landing

    def my_support(self) -> list[str]:
        """Mi Soporte: the case list, a search, and the links to the cases shown."""
        listing = self.fetch("GET", f"/{LANG}/support/")
        case_links = html.links_matching(listing.text, listing.url, "/support/case/")
        search_form = _search_form(listing.text)
        if search_form is not None:
            name = search_form.named_like("q", "search", "buscar", "busq") or "q"
            found = self.submit(search_form, listing.url, {name: self._rng.choice(SEARCH_WORDS)})
            case_links += html.links_matching(found.text, found.url, "/support/case/")
        return case_links

    def open_case(self, case_links: list[str]) -> requests.Response:
        """Open one case of the list (its fields and its activity)."""
        if not case_links:
            raise JourneyError("case_list: no case to open")
        page = self.fetch("GET", self._rng.choice(case_links))
        follow = html.form_with(page.text, action_part="/follow")
        if follow is not None:  # a colleague's case: "Seguir este caso" (the page comes back with it)
            page = self.submit(follow, page.url, page="follow")
        return page

    def reply(self, case_page: requests.Response) -> None:
        """Agregar un comentario with a small file (an open case only), then download that file."""
        form = html.form_with(case_page.text, action_part="/comment")
        if form is None:
            return  # a resolved or cancelled case: no comment box
        note = f"Comentario del benchmark {self._rng.randrange(10**6)}"
        name = f"registro-{self._rng.randrange(10**6)}.txt"
        attachment = ("files", (name, b"linea\n" * 300, "text/plain"))
        shown = self.submit_files(form, case_page.url, {"comment": note}, [attachment])
        if note not in shown.text:
            raise JourneyError("comment: the new comment is not on the case page")
        files = html.links_matching(shown.text, shown.url, "/files/")
        if not files:
            raise JourneyError("comment: the attached file is not on the case page")
        self.fetch("GET", files[-1])
        self.close_and_reopen(shown)

    def close_and_reopen(self, case_page: requests.Response) -> None:
        """Cerrar caso (its confirmation, then Sí) and Reabrir caso the same way: the case ends open.
        A colleague of the same account may close or reopen it meanwhile: the portal then sends the
        confirmation back to the case page, and the walk goes on from there."""
        page = case_page
        for action in ("close", "reopen"):
            links = html.links_matching(page.text, page.url, f"/{action}")
            if not links:
                return  # someone else already moved the case on
            confirm = self.fetch("GET", links[0])
            form = html.form_with(confirm.text, action_part=f"/{action}")
            page = confirm if form is None else self.submit(form, confirm.url, page="case_action")

    def submit_files(
        self,
        form: html.Form,
        page_url: str,
        values: dict[str, str],
        files: list[tuple[str, tuple[str, bytes, str]]],
    ) -> requests.Response:
        """Submit a multipart form (fields and files), as a browser sends a form with file inputs."""
        target = urljoin(page_url, form.action or page_url)
        return self.fetch("POST", target, data={**form.fields, **values}, files=files, page="comment")

    def new_case(self) -> None:
        """Abrir un caso nuevo: the form, the Asociado lookup (no-JS page), Seleccionar, then Enviar."""
        form_page = self.fetch("GET", f"/{LANG}/support/create-case/")
        form = _case_form(form_page.text)
        if form is None:
            raise JourneyError("new_case_form: no case form")
        title_field = form.named_like("title", "titulo") or "title"
        description_field = form.named_like("description", "descripcion") or "description"
        draft = {
            title_field: f"Bench {self._rng.choice(SEARCH_WORDS)} {self._rng.randrange(10**6)}",
            description_field: "Caso creado por el benchmark: descripción detallada del caso.",
        }
        if form.button("intent", "lookup") is not None:
            form_page, form = self._choose_associate(form, form_page.url, draft, title_field)
        result = self.submit(form, form_page.url, draft, button=("intent", "send"), page="submit")
        if "CAS-" not in result.text:
            raise JourneyError("submit: no case number shown after Enviar")

    def _choose_associate(
        self, form: html.Form, page_url: str, draft: dict[str, str], title_field: str
    ) -> tuple[requests.Response, html.Form]:
        """Buscar registros: open the lookup page, pick the first row, Seleccionar; back on the form."""
        lookup = self.submit(form, page_url, draft, button=("intent", "lookup"), page="associates")
        lookup_form = html.form_with(lookup.text, field_name="associate")
        if lookup_form is None:
            raise JourneyError("associates: no associate to choose")
        choice = next(v for n, kind, v in lookup_form.controls if n == "associate" and kind == "radio")
        back = self.submit(
            lookup_form,
            lookup.url,
            {"associate": choice},
            button=("intent", "select"),
            page="associate_select",
        )
        case_form = _case_form(back.text)
        if case_form is None or not case_form.fields.get("associate_id"):
            raise JourneyError("associate_select: the chosen associate is not on the form")
        if case_form.fields.get(title_field) != draft[title_field]:
            raise JourneyError("associate_select: the form lost the title typed before the lookup")
        return back, case_form

    def hour_banks(self) -> requests.Response:
        """Vigencia de Soporte: the list, then one hour bank's detail."""
        listing = self.fetch("GET", f"/{LANG}/vigencia-soporte/")
        details = html.links_matching(listing.text, listing.url, "/vigencia-soporte/")
        details = [u for u in details if urlsplit(u).path.rstrip("/").split("/")[-1] != "vigencia-soporte"]
        if not details:
            raise JourneyError("hour_banks: no hour bank to open")
        return self.fetch("GET", self._rng.choice(details))

    def sign_out(self, page: requests.Response) -> None:
        """Cerrar sesión (a POST with the CSRF token)."""
        form = html.form_with(page.text, action_part="/Account/Login/LogOff")
        if form is None:
            raise JourneyError("sign_out: no sign-out form on the page")
        self.submit(form, page.url)

    def journey(self) -> None:
        """The whole manual, once: sign in, my support, a case (and a reply with a file), a new case,
        hour banks, sign out."""
        self.sign_in()
        links = self.my_support()
        case_page = self.open_case(links)
        self.reply(case_page)
        self.new_case()
        detail = self.hour_banks()
        self.fetch("GET", f"/{LANG}/profile/notifications")
        self.fetch("GET", f"/{LANG}/profile/security/")  # Verificación en dos pasos (its state: one read)
        self.company_users()
        self.knowledge()
        self.sign_out(detail)

    def knowledge(self) -> None:
        """Base de conocimiento: search a word, open the first article, "Sí"; then type a new case's
        title letter by letter as the form's script asks for suggestions (from three characters)."""
        word = self._rng.choice(KB_WORDS)
        results = self.fetch("GET", f"/{LANG}/knowledgebase/?q={word}")
        articles = html.links_matching(results.text, results.url, "/knowledgebase/")
        articles = [a for a in articles if a.rstrip("/").split("/")[-1].count("-") == 4]
        if not articles:
            raise JourneyError(f"kb_search: no article for {word!r}")
        article = self.fetch("GET", articles[0])
        form = html.form_with(article.text, "article_token")
        if form is None:
            raise JourneyError("kb_article: no rating form")
        self.submit(form, article.url, {"helpful": "yes"}, page="kb_rate")
        title = f"{word} no funciona"
        for end in range(3, len(title) + 1, 4):  # what a debounced typist sends
            self.fetch("GET", f"/{LANG}/knowledgebase/suggest?q={title[:end]}")

    def company_users(self) -> None:
        """Usuarios de la empresa (the bench users administer their accounts), then one colleague's
        "Cambiar nivel" confirmation (not confirmed: the load run changes nobody's level)."""
        listing = self.fetch("GET", f"/{LANG}/company/users")
        actions = [href for href in html.links_matching(listing.text, listing.url, "/company/users/")
                   if href.endswith("/level")]  # fmt: skip
        if not actions:
            raise JourneyError("company_users: no colleague to act on")
        self.fetch("GET", self._rng.choice(actions))
        self.fetch("GET", f"/{LANG}/company/users/invite")  # the invitation form (not sent)


def _login_form(text: str) -> html.Form | None:
    forms, _ = html.parse(text)
    return next((f for f in forms if any(kind == "password" for _n, kind, _v in f.controls)), None)


def _search_form(text: str) -> html.Form | None:
    forms, _ = html.parse(text)
    return next(
        (f for f in forms if f.method == "get" and any(k in {"search", "text"} for _n, k, _v in f.controls)),
        None,
    )


def _case_form(text: str) -> html.Form | None:
    forms, _ = html.parse(text)
    return next(
        (f for f in forms if f.method == "post" and any(kind == "textarea" for _n, kind, _v in f.controls)),
        None,
    )
