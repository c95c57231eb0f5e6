"""The dashboard's forms (POST): token login, logout, mode change and rollback, dead-letter assign and replay.

Every post carries the session's CSRF token (refused with 403 without it) and every write calls the same
function as the API's write route (:mod:`bridge.web.actions`), so it is refused, performed and audited alike,
under the logged-in identity. The dashboard asks for a reason on every flag change, rollbacks included.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from bridge.store.audit import TOKEN_PREFIX
from bridge.web import actions
from bridge.web.actions import ActionError, FlagRequest
from bridge.web.auth import Role
from bridge.web.context import ctx_of
from bridge.web.ui.guard import keeper, post_identity, read_form, respond, secure_headers, session_of
from bridge.web.ui.html import e, form, page
from bridge.web.ui.pages import render_interface
from bridge.web.ui.session import Session, check_csrf

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path of the dashboard (never another site) to go to after login."""
    if not target or not target.startswith("/ui") or target.startswith("//"):
        return "/ui"
    return target


def _login_page(request: Request, next_url: str, error: str = "", status: int = 200) -> Response:
    s = session_of(request)
    body = f'<div class="msg error" id="result">{e(error)}</div>' if error else ""
    fields = (
        f'<input type="hidden" name="next" value="{e(next_url)}">'
        '<label>API token <input type="password" name="token" autocomplete="off" size="50" required></label> '
    )
    body += "<p>Log in with an API token (<code>esb-bridge auth token create NAME --role ROLE</code>).</p>"
    body += form("/ui/login", s.csrf, fields, "Log in", name="login")
    if request.app.state.oidc_login is not None:
        body += f'<p><a id="oidc" href="/ui/login/oidc?next={quote(next_url)}">Log in with single sign-on</a></p>'
    return respond(request, page("Log in", body, who=None, csrf=s.csrf), status)


@router.get("/login")
def login_form(request: Request, next: str = "/ui") -> Response:
    # The overview's gate verdicts take seconds on a large ledger: evaluate them while the token is typed.
    request.app.state.gates.refresh(request.app.state.ctx)
    return _login_page(request, _safe_next(next))


def _redirect(request: Request, target: str, session: Session | None = None) -> Response:
    response = RedirectResponse(target, status_code=303)
    if session is not None:
        keeper(request).write(request, response, session)
    return secure_headers(response)


@router.post("/login")
async def login(request: Request) -> Response:
    form_data = await read_form(request)
    s = session_of(request)
    if not check_csrf(s, form_data):
        return _login_page(request, "/ui", "the form's CSRF token is missing or wrong: try again", 403)
    token, next_url = form_data.get("token", "").strip(), _safe_next(form_data.get("next"))
    ctx = ctx_of(request)
    stored = ctx.ledger.token_for(token) if token.startswith(TOKEN_PREFIX) else None
    if stored is None:
        return _login_page(request, next_url, "unknown, revoked or expired token", 401)
    fresh = keeper(request).fresh(who=f"token:{stored.name}", role=Role.parse(stored.role).label, token=stored.name)
    ctx.ledger.audit(fresh.who or "", "ui.login", f"token:{stored.name}")
    return _redirect(request, next_url, fresh)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form_data = await read_form(request)
    post_identity(request, form_data, Role.VIEWER)
    keeper(request).end(session_of(request))
    return _redirect(request, "/ui/login", keeper(request).fresh())


# ------------------------------------------------------------------------------------------------ cutover


def _not_found(request: Request, name: str) -> Response:
    s = session_of(request)
    return respond(request, page("Not found", f"<p>No interface {e(name)}.</p>", who=s.identity(), csrf=s.csrf), 404)


@router.post("/interfaces/{name}/flag")
async def change_flag(name: str, request: Request) -> Response:
    form_data = await read_form(request)
    who = post_identity(request, form_data, Role.MIGRATION_LEAD)
    if name not in ctx_of(request).loaded.config.interfaces:
        return _not_found(request, name)
    reason = form_data.get("reason", "").strip()
    if not reason:
        return render_interface(request, who, name, error="a mode change needs a reason")
    req = FlagRequest(
        mode=form_data.get("mode") or None,
        reason=reason,
        ticket=form_data.get("ticket") or None,
        force=form_data.get("force") == "1",
    )
    try:
        out = actions.change_flag(ctx_of(request), name, req, who)
    except ActionError as exc:
        if exc.readiness is not None:
            return render_interface(
                request, who, name, error=f"promotion blocked by the readiness gate: {exc.detail}", gate=exc.readiness
            )
        return render_interface(request, who, name, error=exc.detail)
    return render_interface(request, who, name, info=f"{name} is now {out['mode']} (flag v{out['version']})")


@router.post("/interfaces/{name}/rollback")
async def rollback(name: str, request: Request) -> Response:
    form_data = await read_form(request)
    who = post_identity(request, form_data, Role.MIGRATION_LEAD)
    if name not in ctx_of(request).loaded.config.interfaces:
        return _not_found(request, name)
    reason = form_data.get("reason", "").strip()
    if not reason:
        return render_interface(request, who, name, error="a rollback needs a reason")
    try:
        out = actions.rollback_flag(ctx_of(request), name, who, reason=reason, ticket=form_data.get("ticket") or None)
    except ActionError as exc:
        return render_interface(request, who, name, error=exc.detail)
    return render_interface(request, who, name, info=f"rolled back: {name} is now {out['mode']} (v{out['version']})")


# ------------------------------------------------------------------------------------------------ dead letters


def _back_to_queue(request: Request, message: str, ok: bool) -> Response:
    s = session_of(request)
    css = "info" if ok else "error"
    body = f'<div class="msg {css}" id="result">{e(message)}</div>'
    body += '<p><a href="/ui/remediation">Back to the queue</a></p>'
    return respond(request, page("Remediation", body, who=s.identity(), csrf=s.csrf))


@router.post("/dead-letters/{dl_id}/assign")
async def assign(dl_id: int, request: Request) -> Response:
    form_data = await read_form(request)
    who = post_identity(request, form_data, Role.OPERATOR)
    try:
        out = actions.assign_dead_letter(ctx_of(request), dl_id, who, form_data.get("owner"))
    except ActionError as exc:
        return _back_to_queue(request, exc.detail, False)
    return _redirect(request, f"/ui/remediation?assigned={dl_id}&owner={quote(out['assigned_to'] or '')}")


@router.post("/dead-letters/{dl_id}/replay")
async def replay(dl_id: int, request: Request) -> Response:
    form_data = await read_form(request)
    who = post_identity(request, form_data, Role.OPERATOR)
    try:
        out = actions.replay_dead_letter(ctx_of(request), dl_id, who)
    except ActionError as exc:
        return _back_to_queue(request, exc.detail, False)
    return _back_to_queue(request, f"dead letter {dl_id} replayed: {out.get('result', 'done')}", True)
