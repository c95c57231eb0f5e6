"""The plugin contract in ``bridge.ports.plugins``: port checks, registration checks, the Registry's naming."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

from bridge.plugins import Registry
from bridge.ports import PLUGIN_API, PORTS, KindConfig, Plugin, PluginContext, PluginContractError, PluginRole
from bridge.ports.plugins import DECODER, SINK, plugin

CTX = PluginContext(base_dir=Path("/cfg"), interface="i", canonical="Customer")


class OneConfig(KindConfig):
    kind: Literal["one"]


class OtherConfig(KindConfig):
    kind: Literal["other"]


def _with(members: tuple[str, ...]) -> object:
    """An object that has exactly ``members`` (plain attributes: the runtime check looks only for presence)."""
    return type("Obj", (), dict.fromkeys(members, lambda *a: None))()


def test_plugin_api_is_a_major_minor_version() -> None:
    major, minor = PLUGIN_API.split(".")
    assert major.isdigit() and minor.isdigit()


@pytest.mark.parametrize("role", list(PORTS))
def test_each_port_names_every_member_of_its_protocol(role: PluginRole) -> None:
    """An object with all the listed members is an instance of the protocol; without any one of them it is not."""
    port = PORTS[role]
    assert port.missing(_with(port.members)) == []
    for member in port.members:
        rest = tuple(m for m in port.members if m != member)
        assert port.missing(_with(rest)) == [member]


def test_build_checks_the_object_against_the_port_and_names_the_plugin() -> None:
    broken = plugin(DECODER, "one", OneConfig, lambda c, ctx: _with(("encode",)))
    with pytest.raises(
        PluginContractError, match=r"decoder plugin 'one' \(ep\) built a Obj that is not a Decoder: missing decode"
    ):
        broken.build(OneConfig(kind="one"), CTX, origin="ep")
    good = plugin(DECODER, "one", OneConfig, lambda c, ctx: _with(("decode",)))
    assert hasattr(good.build(OneConfig(kind="one"), CTX), "decode")


def test_build_refuses_a_config_of_another_model() -> None:
    p = plugin(DECODER, "one", OneConfig, lambda c, ctx: _with(("decode",)))
    with pytest.raises(PluginContractError, match="given a OtherConfig, not its config model OneConfig"):
        p.build(OtherConfig(kind="other"), CTX)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not a plugin", "str 'not a plugin' is not a Plugin"),
        (Plugin("sink", "one", OneConfig, lambda c, ctx: None), "role 'sink' is not a PluginRole"),
        (Plugin(PluginRole.SINK, "", OneConfig, lambda c, ctx: None), "kind must be a non-empty string"),
        (Plugin(PluginRole.SINK, "one", dict, lambda c, ctx: None), "is not a KindConfig subclass"),
        (Plugin(PluginRole.SINK, "one", OneConfig, "factory"), "is not callable"),
        (Plugin(PluginRole.SINK, "one", OneConfig, lambda c, ctx: None, cli="group"), "is not a click command"),
    ],
)
def test_register_refuses_a_malformed_plugin_naming_where_it_came_from(bad: Any, message: str) -> None:
    with pytest.raises(PluginContractError, match="entry point 'x'") as info:
        Registry().register(bad, origin="entry point 'x'")
    assert message in str(info.value)


def test_two_plugins_for_one_kind_name_both_origins() -> None:
    registry = Registry()
    registry._loaded = True  # only what this test registers
    first = plugin(SINK, "one", OneConfig, lambda c, ctx: _with(SINK.members))
    second = plugin(SINK, "one", OneConfig, lambda c, ctx: _with(SINK.members))
    registry.register(first, origin="entry point 'a'")
    registry.register(first, origin="entry point 'a'")  # the same object again is no conflict
    with pytest.raises(Exception, match="two plugins register sink kind 'one': entry point 'a' and entry point 'b'"):
        registry.register(second, origin="entry point 'b'")


def test_registry_build_names_the_origin_of_a_broken_plugin() -> None:
    registry = Registry()
    registry._loaded = True
    registry.register(plugin(SINK, "one", OneConfig, lambda c, ctx: _with(("deliver",))))
    with pytest.raises(
        PluginContractError, match=r"sink plugin 'one' \(registered in code\) .* missing target, __enter__, __exit__"
    ):
        registry.build(PluginRole.SINK, OneConfig(kind="one"), CTX)


def test_every_shipped_plugin_is_registered_through_a_plugins_list() -> None:
    """Each entry point of the installed distribution names a PLUGINS list, and every kind is found."""
    from bridge.plugins import registry

    kinds = {(p.role, p.kind) for p in registry.all()}
    for role, kind in [
        (PluginRole.DECODER, "jsonl"),
        (PluginRole.ENCODER, "json"),
        (PluginRole.SINK, "file"),
        (PluginRole.SINK, "folder"),
        (PluginRole.PROJECTOR, "canonical-json"),
        (PluginRole.SOURCE, "sftp"),
        (PluginRole.SINK, "rest"),
        (PluginRole.READBACK, "soap"),
    ]:
        assert (role, kind) in kinds
        assert registry.origin(role, kind).startswith("entry point ")
        assert registry.origin(role, kind).endswith(":PLUGINS")
