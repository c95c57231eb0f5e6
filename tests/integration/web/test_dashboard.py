"""The dashboard over HTTP (real uvicorn server): login, session cookie, CSRF, roles of pages and forms,
writes audited under the logged-in identity, logout and revoked tokens ending sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bridge.ports import SimulatedClock
from tests.integration.web.conftest import World, served_world
from tests.integration.web.test_api import RANK, SAMPLE, UI_MATRIX


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the page has no form with a CSRF token"
    return m.group(1)


@contextmanager
def login(w: World, role: str) -> Iterator[httpx.Client]:
    """A client logged in through the login form with the token of ``role``."""
    with httpx.Client(base_url=w.server.url, timeout=30) as c:
        csrf = _csrf(c.get("/ui/login").text)
        r = c.post("/ui/login", data={"csrf": csrf, "token": w.tokens[role], "next": "/ui"})
        assert r.status_code == 303 and r.headers["location"] == "/ui", r.text
        yield c


def test_pages_need_a_login_and_the_cookie_is_httponly_and_lax(world: World) -> None:
    """No session: a page redirects to the login form; the session cookie is HttpOnly, SameSite=Lax, not Secure
    over plain HTTP; a wrong token is refused (401) and gives no identity."""
    with httpx.Client(base_url=world.server.url) as c:
        r = c.get("/ui/remediation")
        assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/remediation"
        page = c.get("/ui/login")
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        assert "default-src 'none'" in page.headers["content-security-policy"]
        bad = c.post("/ui/login", data={"csrf": _csrf(page.text), "token": "esbb_wrong", "next": "/ui"})
        assert bad.status_code == 401 and c.get("/ui").status_code == 303
        # the next page is only ever one of the dashboard's
        good = c.post("/ui/login", data={"csrf": _csrf(page.text), "token": world.tokens["viewer"], "next": "//evil"})
        assert good.status_code == 303 and good.headers["location"] == "/ui"


def test_a_login_post_without_the_csrf_token_is_refused(world: World) -> None:
    """The login form itself carries a CSRF token: a post without it is 403 and logs nobody in."""
    with httpx.Client(base_url=world.server.url) as c:
        c.get("/ui/login")
        r = c.post("/ui/login", data={"token": world.tokens["migration_lead"]})
        assert r.status_code == 403 and c.get("/ui").status_code == 303


@pytest.mark.parametrize("role", ["viewer", "operator", "migration_lead"])
def test_each_role_gets_exactly_its_pages_and_forms(world: World, role: str) -> None:
    """Per dashboard route, with a logged-in session: below its role 403, at or above neither 401 nor 403;
    and every form post without the CSRF token is 403 whatever the role."""
    with login(world, role) as c:
        csrf = _csrf(c.get("/ui").text)
        for (method, path), needs in UI_MATRIX.items():
            if path.startswith(("/ui/login", "/ui/logout")):
                continue
            url = path.format(**SAMPLE)
            if method == "GET":
                r = c.get(url)
            else:
                assert c.post(url, data={"reason": "x"}).status_code == 403, (role, path)
                r = c.post(url, data={"csrf": csrf, "reason": "x", "mode": "legacy_only"})
            if RANK[role] >= RANK[needs]:
                assert r.status_code not in (401, 403), (role, method, path, r.text)
            else:
                assert r.status_code == 403, (role, method, path, r.status_code)


def test_a_bearer_token_reads_pages_but_posts_no_form(world: World) -> None:
    """Scripts may read a page with an API token; a form post needs the session's CSRF token (403)."""
    with world.client("migration_lead") as c:
        assert c.get("/ui").status_code == 200
        assert c.post("/ui/interfaces/customers/rollback", data={"reason": "x"}).status_code == 403


def test_ui_writes_are_audited_under_the_identity_and_logout_ends_the_session(
    tmp_path: Path, store_url: str, clock: SimulatedClock
) -> None:
    """An assignment and a replay from the dashboard land in the audit log as the logged-in token's; after
    logout the old cookie opens nothing; a revoked token ends its session."""
    with served_world(tmp_path, store_url, clock) as w:
        with w.client("viewer") as api:
            dl = next(d for d in api.get("/api/v1/dead-letters").json() if d["kind"] == "delivery")
        with login(w, "operator") as c:
            csrf = _csrf(c.get("/ui/remediation").text)
            r = c.post(f"/ui/dead-letters/{dl['id']}/assign", data={"csrf": csrf, "owner": "ar-team"})
            assert r.status_code == 303
            assert "ar-team" in c.get("/ui/remediation").text
            r = c.post(f"/ui/dead-letters/{dl['id']}/replay", data={"csrf": csrf})
            assert r.status_code == 200 and "replayed" in r.text
            old = dict(c.cookies)
            assert c.post("/ui/logout", data={"csrf": csrf}).status_code == 303
            assert c.get("/ui").status_code == 303
        with httpx.Client(base_url=w.server.url, cookies=old) as stale:
            assert stale.get("/ui").status_code == 303  # the logged-out cookie is refused
        mine = [(e["actor"], e["action"]) for e in w.runner.ledger.audit_entries() if e["actor"].startswith("token:")]
        assert mine == [
            ("token:t-operator", "ui.login"),
            ("token:t-operator", "dlq.assign"),
            ("token:t-operator", "dlq.replay"),
        ]
        with login(w, "viewer") as c:
            assert c.get("/ui").status_code == 200
            assert w.runner.ledger.revoke_token("t-viewer")
            assert c.get("/ui").status_code == 303


def test_the_interface_page_shows_recent_mismatches_side_by_side_and_the_card_their_rate(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    """A recorded mismatch appears field by field (legacy value next to cloud value) on the interface page; the
    overview's match rate counts it; an accepted difference is not listed."""
    from bridge.store.comparisons import NewComparison
    from bridge.store.records import ComparisonLevel, ComparisonStatus

    with served_world(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", clock) as w:
        with w.client("viewer") as api:
            msgs = api.get("/api/v1/messages", params={"state": "delivered"}).json()
        entries = [
            {"path": "city", "legacy": "Lyon", "cloud": "LYON", "category": "value"},
            {"path": "phone", "legacy": "1", "cloud": "2", "category": "value", "accepted": {"by": "x"}},
        ]
        rows = [
            NewComparison(
                m["id"],
                "customers",
                ComparisonLevel.PAYLOAD,
                ComparisonStatus.MISMATCH if i == 0 else ComparisonStatus.MATCH,
                {"entries": entries} if i == 0 else {},
                m["business_key"],
            )
            for i, m in enumerate(msgs)
        ]
        assert w.runner.ledger.record_comparisons(rows) == 3
        with login(w, "viewer") as c:
            page = c.get("/ui/interfaces/customers").text
            overview = c.get("/ui").text
    assert "<td>city</td><td>&quot;Lyon&quot;</td><td>&quot;LYON&quot;</td>" in page
    assert "phone" not in page and msgs[0]["business_key"] in page
    assert "66.67 % of 3" in overview
