"""The admin API over a real uvicorn server: every route against the permission matrix, search, trace,
dead letters, cutover, tokens, audit chain, metrics, health."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from starlette.routing import Route

from bridge.ports import SimulatedClock
from bridge.store import schema as t
from bridge.store.audit_chain import verify_chain
from tests.integration.web.conftest import World, served_world

PUBLIC, VIEWER, OPERATOR, LEAD = None, "viewer", "operator", "migration_lead"
RANK = {None: 0, VIEWER: 1, OPERATOR: 2, LEAD: 3}

#: route x least role; every route of the app must be here (and nothing else)
MATRIX: dict[tuple[str, str], str | None] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): VIEWER,
    ("GET", "/api/v1/interfaces"): VIEWER,
    ("GET", "/api/v1/interfaces/{name}"): VIEWER,
    ("GET", "/api/v1/messages"): VIEWER,
    ("GET", "/api/v1/messages/{message_id}/trace"): VIEWER,
    ("GET", "/api/v1/dead-letters"): VIEWER,
    ("GET", "/api/v1/dead-letters/{dl_id}"): VIEWER,
    ("GET", "/api/v1/reports/shadow"): VIEWER,
    ("GET", "/api/v1/audit"): VIEWER,
    ("GET", "/api/v1/whoami"): VIEWER,
    ("GET", "/api/v1/cutover"): VIEWER,
    ("GET", "/api/v1/cutover/{interface}/history"): VIEWER,
    ("GET", "/api/v1/cutover/{interface}/readiness"): VIEWER,
    ("GET", "/api/v1/shadow/{interface}/noise-rules"): VIEWER,
    ("POST", "/api/v1/dead-letters/{dl_id}/replay"): OPERATOR,
    ("POST", "/api/v1/dead-letters/{dl_id}/discard"): OPERATOR,
    ("POST", "/api/v1/dead-letters/{dl_id}/assign"): OPERATOR,
    ("POST", "/api/v1/cutover/{interface}"): LEAD,
    ("POST", "/api/v1/cutover/{interface}/rollback"): LEAD,
    ("POST", "/api/v1/shadow/{interface}/noise-rules"): LEAD,
}

#: the dashboard's routes x least role (pages: no session -> login redirect; forms: CSRF first, then the role;
#: tests/integration/web/test_dashboard.py checks them through sessions)
UI_MATRIX: dict[tuple[str, str], str | None] = {
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): PUBLIC,
    ("POST", "/ui/logout"): VIEWER,
    ("GET", "/ui/login/oidc"): PUBLIC,
    ("GET", "/ui/login/oidc/callback"): PUBLIC,
    ("GET", "/ui"): VIEWER,
    ("GET", "/ui/flow"): VIEWER,
    ("GET", "/ui/interfaces/{name}"): VIEWER,
    ("GET", "/ui/messages"): VIEWER,
    ("GET", "/ui/messages/{message_id}"): VIEWER,
    ("GET", "/ui/remediation"): VIEWER,
    ("GET", "/ui/alerts"): VIEWER,
    ("POST", "/ui/interfaces/{name}/flag"): LEAD,
    ("POST", "/ui/interfaces/{name}/rollback"): LEAD,
    ("POST", "/ui/dead-letters/{dl_id}/assign"): OPERATOR,
    ("POST", "/ui/dead-letters/{dl_id}/replay"): OPERATOR,
}

#: harmless arguments: ids that do not exist, so an allowed write changes nothing (404)
SAMPLE = {"name": "customers", "message_id": "nope", "dl_id": "999999", "interface": "nope"}
BODY = {
    "replay": {},
    "discard": {"reason": "x"},
    "assign": {"owner": "x"},
    "rollback": {},
    "noise-rules": {"field": "x", "owner": "x", "reason": "x", "expires": "2099-01-01"},
}


def _walk(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """Every (method, path) under ``routes``, through included routers and mounts; an unknown kind fails."""
    out: set[tuple[str, str]] = set()
    for r in routes:
        if isinstance(r, APIRoute | Route):
            out |= {(m, prefix + r.path) for m in (r.methods or ()) if m not in ("HEAD", "OPTIONS")}
        elif hasattr(r, "original_router"):  # FastAPI's included router
            out |= _walk(r.original_router.routes, prefix + r.include_context.prefix)
        elif hasattr(r, "routes"):  # a mount
            out |= _walk(r.routes, prefix + getattr(r, "path", ""))
        else:
            raise AssertionError(f"route of an unknown kind {type(r).__name__}: add it to the walk and the matrix")
    return out


def _routes(world: World) -> set[tuple[str, str]]:
    return _walk(world.server._server.config.app.routes)


def test_every_route_is_in_the_permission_matrix(world: World) -> None:
    """The app's routes and the declared matrices are the same set: a new route without a declared role fails."""
    assert _routes(world) == set(MATRIX) | set(UI_MATRIX)


@pytest.mark.parametrize("caller", [None, VIEWER, OPERATOR, LEAD])
def test_each_role_is_refused_exactly_what_it_may_not_do(world: World, caller: str | None) -> None:
    """Per route: below the route's role -> 401 (no token) or 403; at or above it -> neither."""
    with world.client(caller) as c:
        for (method, path), needs in MATRIX.items():
            url = path.format(**SAMPLE)
            body = BODY.get(path.rsplit("/", 1)[-1], {"mode": "legacy_only"}) if method == "POST" else None
            r = c.request(method, url, json=body)
            if RANK[caller] >= RANK[needs]:
                assert r.status_code not in (401, 403), (caller, method, path, r.text)
            else:
                assert r.status_code == (401 if caller is None else 403), (caller, method, path, r.status_code)


def test_openapi_lists_every_api_route(world: World) -> None:
    """/openapi.json is published and documents the /api/v1 routes."""
    with world.client(None) as c:
        spec = c.get("/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert {k for k in MATRIX if k[1].startswith("/api/")} <= documented


def test_interfaces_show_mode_and_counts(world: World) -> None:
    """Interface status carries the flag's mode and the ledger's counts; an unknown interface is 404."""
    with world.client(VIEWER) as c:
        rows = c.get("/api/v1/interfaces").json()
        one = c.get("/api/v1/interfaces/customers").json()
        assert c.get("/api/v1/interfaces/nope").status_code == 404
    assert [r["interface"] for r in rows] == ["customers"]
    assert one["mode"] == "legacy_only"
    assert one["messages"] == {"delivered": 3, "dead": 2}
    assert one["dead_letters_open"] == 3


def test_message_search_is_the_clis_search(world: World, tmp_path: Path) -> None:
    """Search by business key, transaction id, state and time; `messages list` answers the same rows."""
    from bridge.cli.main import cli

    with world.client(VIEWER) as c:
        everything = c.get("/api/v1/messages").json()
        one = everything[0]
        by_key = c.get("/api/v1/messages", params={"business_key": one["business_key"]}).json()
        by_tx = c.get("/api/v1/messages", params={"transaction_id": one["transaction_id"]}).json()
        dead = c.get("/api/v1/messages", params={"state": "dead"}).json()
        later = c.get("/api/v1/messages", params={"since": "2100-01-01T00:00:00Z"}).json()
        assert c.get("/api/v1/messages", params={"since": "2100-01-01T00:00:00"}).status_code == 422
    assert len(everything) == 5 and [m["id"] for m in by_key] == [one["id"]]
    assert one["id"] in {m["id"] for m in by_tx}
    assert len(dead) == 2 and later == []
    cfg = str(world.ctx.loaded.file)
    out = CliRunner().invoke(cli, ["--config", cfg, "messages", "list", "-k", one["business_key"], "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == by_key


def test_trace_masks_sensitive_fields_and_returns_no_bytes(world: World) -> None:
    """A trace has source, location, attempts and the record with sensitive fields masked; no raw bytes."""
    with world.client(VIEWER) as c:
        mid = c.get("/api/v1/messages", params={"state": "delivered", "limit": 1}).json()[0]["id"]
        tr = c.get(f"/api/v1/messages/{mid}/trace").json()
        assert c.get("/api/v1/messages/nope/trace").status_code == 404
    assert tr["source"]["origin"].endswith("c.jsonl") and tr["source"]["location"]["line"] >= 1
    assert tr["record"]["contacts"][0]["email"] == "***masked***"
    assert tr["record"]["name"] == "***masked***"
    assert tr["record"]["customer_number"] == tr["message"]["business_key"]
    d = tr["deliveries"][0]
    assert d["status"] == "delivered" and d["attempts_log"][0]["status"] == "delivered"
    # a sensitive interface's bytes get no plain SHA-256 (a guessed value would give it away); no hash key: none
    assert set(d["request"]) == {"bytes", "media_type"}
    text = json.dumps(tr)
    assert "@example.com" not in text and "payload" not in tr["message"]


def test_reports_and_dead_letter_detail(world: World) -> None:
    """The shadow report in JSON and HTML; a dead letter's fragment is summarised, never returned."""
    with world.client(VIEWER) as c:
        assert "interfaces" in c.get("/api/v1/reports/shadow").json()
        html = c.get("/api/v1/reports/shadow", params={"format": "html"})
        assert html.headers["content-type"].startswith("text/html")
        assert c.get("/api/v1/reports/shadow", params={"format": "pdf"}).status_code == 422
        rec = next(d for d in c.get("/api/v1/dead-letters").json() if d["kind"] == "record")
        one = c.get(f"/api/v1/dead-letters/{rec['id']}").json()
    assert one["fragment"]["bytes"] == len("{not json") and "not json" not in json.dumps(one["fragment"])


def test_metrics_parse_and_reflect_the_ledger(world: World) -> None:
    """/metrics parses with the Prometheus text parser; counters and ledger gauges carry the expected values."""
    with world.client(VIEWER) as c:
        text = c.get("/metrics").text
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    value = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in fams.values() for s in f.samples}
    assert value[("esb_bridge_messages", (("interface", "customers"), ("state", "delivered")))] == 3
    assert value[("esb_bridge_dlq_depth", (("interface", "customers"),))] == 3
    assert ("esb_bridge_dlq_oldest_age_seconds", (("interface", "customers"),)) in value
    assert value[("esb_bridge_gate_ready", (("interface", "customers"),))] == 0
    key = (
        "esb_bridge_delivery_failures_total",
        (("class", "rejected"), ("interface", "customers"), ("path", "legacy")),
    )
    assert value[key] >= 2
    assert fams["esb_bridge_records_in"].type == "counter"


def test_metrics_read_the_ledger_once_per_cache_window(world: World) -> None:
    """Two scrapes and the interfaces listing inside the cache window cost one ledger read."""
    snapshot = world.server._server.config.app.state.snapshot
    snapshot.ttl = 60.0
    try:
        with world.client(VIEWER) as c:
            before = snapshot.reads
            c.get("/metrics")
            c.get("/api/v1/interfaces")
            c.get("/metrics")
        assert snapshot.reads - before <= 1
    finally:
        snapshot.ttl = 0.0


def test_readyz_inside_run_needs_the_schedulers(world: World) -> None:
    """Inside `run` (a runner in the context) /readyz is 503 until the runner's scheduler runs."""
    world.ctx.runner = world.runner
    try:
        with world.client(None) as c:
            r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"] == {"ledger": True, "migrations": True, "schedulers": False}
    finally:
        world.ctx.runner = None


# ------------------------------------------------------------------------------------------------ writes, both backends


def test_dead_letters_replay_discard_assign_audited_with_identity(
    tmp_path: Path, store_url: str, clock: SimulatedClock
) -> None:
    """Operator writes land with the token's identity in the audit log, whose chain stays intact."""
    with served_world(tmp_path, store_url, clock) as w, w.client(OPERATOR) as c:
        dls = {d["kind"]: d for d in c.get("/api/v1/dead-letters").json()}
        deliv, rec = dls["delivery"], dls["record"]
        assert c.post(f"/api/v1/dead-letters/{deliv['id']}/assign", json={"owner": "ar-team"}).status_code == 200
        r = c.post(f"/api/v1/dead-letters/{deliv['id']}/replay", json={})
        assert r.status_code == 200 and r.json()["result"] == "queued"
        assert c.post(f"/api/v1/dead-letters/{deliv['id']}/replay", json={}).status_code == 409  # not open any more
        r = c.post(f"/api/v1/dead-letters/{rec['id']}/replay", json={})
        assert r.status_code == 409 and "esb-bridge run" in r.json()["detail"]  # `serve` cannot re-decode
        assert c.post(f"/api/v1/dead-letters/{rec['id']}/discard", json={"reason": ""}).status_code == 422
        assert c.post(f"/api/v1/dead-letters/{rec['id']}/discard", json={"reason": "garbage"}).status_code == 200
        entries = list(w.runner.ledger.audit_entries())
    mine = [(e["actor"], e["action"]) for e in entries if e["actor"] != "test"]
    assert mine == [
        ("token:t-operator", "dlq.assign"),
        ("token:t-operator", "dlq.replay"),
        ("token:t-operator", "dlq.discard"),
    ]
    assert verify_chain(entries) == []


def test_cutover_changes_need_the_lead_and_a_reason_to_force(
    tmp_path: Path, store_url: str, clock: SimulatedClock
) -> None:
    """Closed gate -> 409 with the figures; force needs a reason; a forced promotion and rollback are audited."""
    extra = """    cloud: {encoder: {kind: json}, sink: {kind: scripted, name: api-cloud}}"""
    with served_world(tmp_path, store_url, clock, extra=extra) as w, w.client(LEAD) as c:
        with w.client(OPERATOR) as op:
            assert op.post("/api/v1/cutover/customers", json={"mode": "shadow"}).status_code == 403
        assert c.post("/api/v1/cutover/customers", json={"mode": "legacy_primary"}).status_code == 200
        closed = c.post("/api/v1/cutover/customers", json={"mode": "cloud_primary"})
        assert closed.status_code == 409 and closed.json()["readiness"]["ready"] is False
        assert c.post("/api/v1/cutover/customers", json={"mode": "cloud_primary", "force": True}).status_code == 422
        forced = c.post(
            "/api/v1/cutover/customers", json={"mode": "cloud_primary", "force": True, "reason": "CAB-7 approved"}
        )
        assert forced.status_code == 200 and forced.json()["mode"] == "cloud_primary"
        assert (
            c.post("/api/v1/cutover/customers/rollback", json={"reason": "revert"}).json()["mode"] == "legacy_primary"
        )
        history = c.get("/api/v1/cutover/customers/history").json()
        readiness = c.get("/api/v1/cutover/customers/readiness").json()
        entries = list(w.runner.ledger.audit_entries())
    assert [h["actor"] for h in history[:3]] == ["token:t-migration_lead"] * 3
    assert history[1]["action"] == "force-promote" and history[1]["reason"] == "CAB-7 approved"
    assert "ready" in readiness
    assert [e["action"] for e in entries if e["actor"] == "token:t-migration_lead"] == [
        "cutover.change",
        "cutover.force-promote",
        "cutover.rollback",
    ]


def test_accepting_noise_needs_the_lead_and_is_audited(tmp_path: Path, store_url: str, clock: SimulatedClock) -> None:
    """A lead accepts a field as noise (stored, listed, audited under the token); an operator is refused, a past
    expiry or an empty reason is 422 and stores nothing."""
    rule = {"field": "updated_at", "owner": "crm-team", "reason": "read timestamp", "expires": "2026-03-31"}
    with served_world(tmp_path, store_url, clock) as w, w.client(LEAD) as c:
        with w.client(OPERATOR) as op:
            assert op.post("/api/v1/shadow/customers/noise-rules", json=rule).status_code == 403
        assert c.post("/api/v1/shadow/customers/noise-rules", json={**rule, "expires": "2020-01-01"}).status_code == 422
        assert c.post("/api/v1/shadow/customers/noise-rules", json={**rule, "reason": " "}).status_code == 422
        made = c.post("/api/v1/shadow/customers/noise-rules", json=rule)
        assert made.status_code == 200, made.text
        listed = c.get("/api/v1/shadow/customers/noise-rules").json()
        entries = [e for e in w.runner.ledger.audit_entries() if e["action"] == "shadow.accept_noise"]
    assert [(r["path"], r["owner"], r["accepted_by"], r["expired"]) for r in listed] == [
        ("updated_at", "crm-team", "token:t-migration_lead", False)
    ]
    assert [(e["actor"], e["subject"], e["reason"]) for e in entries] == [
        ("token:t-migration_lead", "interface:customers", "read timestamp")
    ]


def test_revoked_and_expired_tokens_are_refused(tmp_path: Path, store_url: str, clock: SimulatedClock) -> None:
    """A revoked token and an expired one get 401; an unknown one too; a live one works."""
    with served_world(tmp_path, store_url, clock) as w:
        ledger = w.runner.ledger
        short = ledger.create_token("short", "viewer", created_by="test", expires_at=clock.now() + timedelta(hours=1))
        with w.client(VIEWER) as c:
            assert c.get("/api/v1/whoami").status_code == 200
            assert c.get("/api/v1/whoami", headers={"Authorization": f"Bearer {short}"}).status_code == 200
            clock.advance(7200)
            assert c.get("/api/v1/whoami", headers={"Authorization": f"Bearer {short}"}).status_code == 401
            assert ledger.revoke_token("t-viewer")
            assert c.get("/api/v1/whoami").status_code == 401
            assert c.get("/api/v1/whoami", headers={"Authorization": "Bearer esbb_madeup"}).status_code == 401
        assert {tk.name: tk.revoked_at is not None for tk in ledger.tokens()}["t-viewer"]
        with ledger.engine.connect() as conn:  # only hashes at rest
            hashes = conn.scalars(t.api_tokens.select().with_only_columns(t.api_tokens.c.token_hash)).all()
        assert short not in hashes and all(len(h) == 64 for h in hashes)


def test_the_audit_chain_detects_an_edited_entry(tmp_path: Path, store_url: str, clock: SimulatedClock) -> None:
    """Export verifies; editing an entry in the ledger or in the export file is reported, with its id."""
    from bridge.cli.main import cli

    with served_world(tmp_path, store_url, clock) as w:
        ledger = w.runner.ledger
        for i in range(3):
            ledger.audit("token:x", "dlq.assign", f"dead_letter:{i}", detail={"owner": f"o{i}"})
        cfg = str(w.ctx.loaded.file)
        run = CliRunner()
        export = tmp_path / "audit.jsonl"
        assert run.invoke(cli, ["--config", cfg, "audit", "export", "-o", str(export)]).exit_code == 0
        assert run.invoke(cli, ["--config", cfg, "audit", "verify", str(export)]).exit_code == 0
        lines = export.read_text().splitlines()
        doctored = json.loads(lines[1])
        doctored["actor"] = "someone-else"
        lines[1] = json.dumps(doctored)
        export.write_text("\n".join(lines) + "\n")
        bad = run.invoke(cli, ["--config", cfg, "audit", "verify", str(export)])
        assert bad.exit_code == 1 and f"entry {doctored['id']}" in bad.output
        with ledger.engine.begin() as conn:
            conn.execute(update(t.audit_events).where(t.audit_events.c.id == doctored["id"]).values(reason="edited"))
        breaks = verify_chain(ledger.audit_entries())
        assert [b.id for b in breaks] == [doctored["id"]]
        assert run.invoke(cli, ["--config", cfg, "audit", "verify"]).exit_code == 1


def test_token_cli_shows_the_token_once(tmp_path: Path, store_url: str, clock: SimulatedClock) -> None:
    """`auth token create` prints a token that works; `list` never shows it; `revoke` stops it."""
    from bridge.cli.main import cli

    with served_world(tmp_path, store_url, clock) as w:
        cfg, run = str(w.ctx.loaded.file), CliRunner()
        created = run.invoke(cli, ["--config", cfg, "auth", "token", "create", "ci", "--role", "operator", "--json"])
        secret = json.loads(created.stdout)["token"]
        listed = run.invoke(cli, ["--config", cfg, "auth", "token", "list", "--json"]).stdout
        assert secret not in listed and "ci" in listed
        with w.client(None) as c:
            who = c.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"}).json()
            assert who == {"identity": "token:ci", "role": "operator"}
            assert run.invoke(cli, ["--config", cfg, "auth", "token", "revoke", "ci"]).exit_code == 0
            assert c.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
