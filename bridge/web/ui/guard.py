"""Who may see a dashboard page or post a form, and how a page is answered.

A page needs a logged-in session (else a redirect to the login form, which comes back afterwards) or an API
bearer token (scripts); its least role is the API's for the same data (viewer reads; operator remediates;
migration lead changes flags). A form post needs the session's CSRF token first (403 without it, whoever
asks), then a logged-in session with the role: bearer tokens do not post forms.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bridge.web.auth import Identity, Role
from bridge.web.ui.html import CSP, e, page
from bridge.web.ui.session import Session, SessionKeeper, check_csrf

__all__ = ["LoginRequired", "PageRefused", "keeper", "post_identity", "read_form", "respond", "viewer_identity"]


class LoginRequired(Exception):
    """No session and no bearer token: go to the login form, then back to ``next``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageRefused(Exception):
    """The caller may not do this (403), or the form had no valid CSRF token (403)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def keeper(request: Request) -> SessionKeeper:
    k: SessionKeeper = request.app.state.sessions
    return k


def session_of(request: Request) -> Session:
    return keeper(request).current(request)


def viewer_identity(request: Request, role: Role = Role.VIEWER) -> Identity:
    """The caller of a page: the session's identity, else a bearer token's; at least ``role``."""
    who = session_of(request).identity()
    if who is None and request.headers.get("authorization"):
        who = request.app.state.ctx.auth.identify(request.headers.get("authorization"))
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    if who.role < role:
        raise PageRefused(f"{who.name} ({who.role.label}) may not do this: it needs {role.label}")
    return who


async def read_form(request: Request) -> dict[str, str]:
    """The posted form (``application/x-www-form-urlencoded``), at most 64 KiB; the last value of a name wins."""
    body = await request.body()
    if len(body) > 65536:
        raise PageRefused("form too large")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def post_identity(request: Request, form: dict[str, str], role: Role) -> Identity:
    """The caller of a form post: CSRF token checked first (403), then a session with at least ``role``."""
    s = session_of(request)
    if not check_csrf(s, form):
        raise PageRefused("the form's CSRF token is missing or wrong: reload the page and try again")
    who = s.identity()
    if who is None:
        raise LoginRequired(request.headers.get("referer", "/ui"))
    if who.role < role:
        raise PageRefused(f"{who.name} ({who.role.label}) may not do this: it needs {role.label}")
    return who


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def respond(request: Request, html: str, status: int = 200) -> Response:
    """An HTML page, with the session cookie when the session is new, and the security headers."""
    response = HTMLResponse(html, status_code=status)
    if getattr(request.state, "new_session", False):
        keeper(request).write(request, response, session_of(request))
    return secure_headers(response)


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    target = exc.next_url if exc.next_url.startswith("/ui") else "/ui"
    return secure_headers(RedirectResponse(f"/ui/login?next={quote(target)}", status_code=303))


def refused(request: Request, exc: PageRefused) -> Response:
    s = session_of(request)
    body = f'<div class="msg error" id="refused">{e(exc.detail)}</div><p><a href="/ui">Back to the overview</a></p>'
    return respond(request, page("Not allowed", body, who=s.identity(), csrf=s.csrf), 403)
