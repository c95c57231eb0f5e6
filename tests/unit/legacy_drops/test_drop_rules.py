"""Drop rules without I/O: readiness decisions, shared-drop validation, safe names, sink file names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from importlib.metadata import entry_points

import pytest
from pydantic import ValidationError

from adapters.legacy.drop import (
    AfterConfig,
    DropEntry,
    ReadinessConfig,
    ReadinessTracker,
    dated_folder,
    safe_name,
    validate_shared_drop,
)
from adapters.legacy.drop_sink import render_name
from adapters.legacy.folder import FolderSinkConfig, FolderSourceConfig
from adapters.legacy.sftp import SftpSourceConfig
from bridge.ports import (
    ConfigError,
    Delivery,
    Encoded,
    HostileInput,
    PathName,
    Plugin,
    PluginRole,
    Role,
    SimulatedClock,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _entry(name: str, size: int = 10, age: float = 100.0) -> DropEntry:
    return DropEntry(f"/drop/{name}", size, NOW.timestamp() - age)


def test_stable_needs_two_identical_listings() -> None:
    """Under ``stable`` a file is ready only when a second listing sees the same size and mtime."""
    tracker = ReadinessTracker(ReadinessConfig(rule="stable"))
    assert tracker.decide(_entry("a.xml"), {"a.xml"}, NOW)[0] is False
    assert tracker.decide(_entry("a.xml", size=11), {"a.xml"}, NOW)[0] is False
    assert tracker.decide(_entry("a.xml", size=11), {"a.xml"}, NOW) == (True, "stable", None)


def test_stable_respects_min_age() -> None:
    """A stable file younger than ``min_age`` waits, with the age in the reason."""
    tracker = ReadinessTracker(ReadinessConfig(rule="stable", min_age=30))
    young = _entry("b.xml", age=5)
    tracker.decide(young, set(), NOW)
    ready, reason, _ = tracker.decide(young, set(), NOW)
    assert not ready and "younger than min_age" in reason


def test_done_file_rule() -> None:
    """``done_file`` is ready when a trigger suffix is listed, and names the trigger path."""
    tracker = ReadinessTracker(ReadinessConfig(rule="done_file"))
    assert tracker.decide(_entry("c.xml"), {"c.xml"}, NOW)[0] is False
    assert tracker.decide(_entry("c.xml"), {"c.xml", "c.xml.ok"}, NOW) == (True, "done file present", "/drop/c.xml.ok")
    assert tracker.is_trigger("c.xml.done")
    custom = ReadinessTracker(ReadinessConfig(rule="done_file", suffix=".ready"))
    assert custom.decide(_entry("c.xml"), {"c.xml", "c.xml.ok"}, NOW)[0] is False


def test_temporary_names_are_never_ready() -> None:
    """Temp patterns (dot files, .tmp, .part) are ignored under every rule."""
    for rule in ("stable", "done_file", "rename"):
        tracker = ReadinessTracker(ReadinessConfig(rule=rule))  # type: ignore[arg-type]
        for name in (".hidden.xml", "x.tmp", "y.part"):
            tracker.decide(_entry(name), {name, name + ".ok"}, NOW)
            assert tracker.decide(_entry(name), {name, name + ".ok"}, NOW)[:2] == (False, "temporary name")


def test_shared_drop_validation_function() -> None:
    """validate_shared_drop raises ConfigError for a shared drop that moves or deletes; leave passes."""
    with pytest.raises(ConfigError) as info:
        block = {"kind": "sftp", "shared": True, "after": {"move_to": "/archive"}}
        validate_shared_drop(block, path="interfaces.x.source")
    assert info.value.problems[0].path == "interfaces.x.source.after"
    assert "shared drop" in info.value.problems[0].message
    with pytest.raises(ConfigError):
        validate_shared_drop({"shared": True, "after": {"action": "delete"}})
    with pytest.raises(ConfigError):
        validate_shared_drop({"shared": True})  # the default action is move
    validate_shared_drop({"shared": True, "after": {"action": "leave"}})
    validate_shared_drop({"shared": False, "after": {"action": "delete"}})


def test_config_model_rejects_shared_drop_that_moves() -> None:
    """The pydantic model itself refuses ``shared: true`` without ``after: leave``, for sftp and folder."""
    base = {"host": "erp", "user": "bridge", "path": "/out"}
    with pytest.raises(ValidationError, match="shared drop"):
        SftpSourceConfig.model_validate({**base, "kind": "sftp", "shared": True})
    with pytest.raises(ValidationError, match="shared drop"):
        FolderSourceConfig.model_validate(
            {"kind": "folder", "path": "/d", "shared": True, "after": {"action": "delete"}}
        )
    ok = SftpSourceConfig.model_validate({**base, "kind": "sftp", "shared": True, "after": {"action": "leave"}})
    validate_shared_drop(ok)


def test_after_config_move_to_implies_move() -> None:
    """``after: {move_to: ...}`` alone means move; the default archive folder is relative to the drop."""
    assert AfterConfig.model_validate({"move_to": "/a"}).effective_action == "move"
    config = FolderSourceConfig.model_validate({"kind": "folder", "path": "/in"})
    assert config.folder(config.after.move_to) == "/in/archive"
    assert config.folder("/elsewhere") == "/elsewhere"


def test_selection_include_exclude_regex() -> None:
    """include globs, exclude globs and regex all apply; a bad regex is a config error."""
    config = FolderSourceConfig.model_validate(
        {"kind": "folder", "path": "/in", "include": ["*.xml"], "exclude": ["draft*"], "regex": r"^inv_\d+"}
    )
    assert config.selects("inv_1.xml") and not config.selects("inv_1.csv")
    assert not config.selects("draft_inv.xml") and not config.selects("x_inv_1.xml")
    with pytest.raises(ValidationError, match="does not compile"):
        FolderSourceConfig.model_validate({"kind": "folder", "path": "/in", "regex": "("})


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "..\\x", "nul\x00byte", "line\nfeed"])
def test_unsafe_remote_names_are_refused(name: str) -> None:
    """Names that could escape or corrupt a local path are HostileInput."""
    with pytest.raises(HostileInput):
        safe_name(name)


def test_safe_names_pass() -> None:
    """Spaces, dots and non-ASCII are fine in names."""
    assert safe_name("Rechnung März 2026..v2.xml") == "Rechnung März 2026..v2.xml"


def test_dated_folder() -> None:
    """Dated archives use YYYY/MM/DD."""
    assert dated_folder("/a", NOW) == "/a/2026/03/01"


def _delivery(key: str, media: str = "application/xml", name: str | None = None) -> Delivery:
    return Delivery(
        uuid.UUID(int=7), "iface", PathName.LEGACY, Role.AUTHORITATIVE, key, 1, Encoded(b"x", media, name), "tx/1"
    )


def test_render_name() -> None:
    """The file name comes from the template; unsafe characters in fields become underscores."""
    assert render_name("{message_id}{ext}", _delivery("k")) == f"{uuid.UUID(int=7)}.xml"
    assert render_name("{business_key}-{transaction_id}{ext}", _delivery("../etc/passwd", "text/csv")) == (
        "etc_passwd-tx_1.csv"
    )
    assert render_name("{name}", _delivery("k", "application/x-custom", "../out.dat")) == "out.dat"


def test_unknown_template_field_is_a_config_error() -> None:
    """A template naming an unknown field is rejected when the config is validated."""
    with pytest.raises(ValidationError, match="unknown field"):
        FolderSinkConfig.model_validate({"kind": "folder", "path": "/o", "name_template": "{attempt}.xml"})


def test_simulated_clock_drives_readiness() -> None:
    """Readiness reads time from the Clock given, so simulated time can make a file old enough."""
    clock = SimulatedClock(NOW)
    tracker = ReadinessTracker(ReadinessConfig(rule="stable", min_age=600))
    entry = _entry("late.xml", age=0)
    tracker.decide(entry, set(), clock.now())
    assert tracker.decide(entry, set(), clock.now())[0] is False
    clock.advance(601)
    assert tracker.decide(entry, set(), clock.now())[0] is True


def test_entry_points_register_the_kinds() -> None:
    """The sftp and folder entry points expose source, sink and listing plugins (and the file sink) with their
    config models."""
    ours = [ep for ep in entry_points(group="esb_bridge.plugins") if ep.name in ("sftp", "folder")]
    loaded = {ep.name: ep.load() for ep in ours}
    kinds = {(p.role, p.kind) for plugins in loaded.values() for p in plugins if isinstance(p, Plugin)}
    assert kinds == {
        (PluginRole.SOURCE, "sftp"),
        (PluginRole.SINK, "sftp"),
        (PluginRole.SOURCE, "folder"),
        (PluginRole.SINK, "folder"),
        (PluginRole.SINK, "file"),
        (PluginRole.LISTING, "sftp"),
        (PluginRole.LISTING, "folder"),
    }
    sftp_source = next(p for p in loaded["sftp"] if p.role is PluginRole.SOURCE)
    assert sftp_source.cli is not None and "doctor" in sftp_source.cli.commands
