"""The cloud kinds are registered through the entry point and build from config without any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.cloud import AmqpEventSink, HttpEventSink, RestPollSource, RestSink, WebhookSource
from bridge.plugins import registry
from bridge.ports import ConfigError, PluginContext, PluginRole

CASES = [
    (
        PluginRole.SINK,
        {
            "kind": "rest",
            "url": "http://127.0.0.1:9/v1/x/{business_key}",
            "auth": {"oauth2": {"token_url": "http://127.0.0.1:9/t", "client_id": "a", "client_secret": "b"}},
        },
        RestSink,
    ),
    (
        PluginRole.READBACK,
        {
            "kind": "rest",
            "url": "http://127.0.0.1:9/v1/x",
            "readback": {"url": "http://127.0.0.1:9/v1/x/{business_key}"},
        },
        RestSink,
    ),
    (PluginRole.SINK, {"kind": "cloudevents", "type": "t", "source": "/s", "amqp": {"exchange": "x"}}, AmqpEventSink),
    (
        PluginRole.SINK,
        {
            "kind": "cloudevents",
            "type": "t",
            "source": "/s",
            "mode": "structured",
            "http": {"url": "http://127.0.0.1:9/e"},
        },
        HttpEventSink,
    ),
    (PluginRole.SOURCE, {"kind": "webhook", "secret": "s", "port": 0}, WebhookSource),
    (PluginRole.SOURCE, {"kind": "rest_poll", "url": "http://127.0.0.1:9/v1/x", "pagination": "link"}, RestPollSource),
]


@pytest.mark.parametrize(("role", "block", "cls"), CASES, ids=[f"{c[0].value}-{c[1]['kind']}" for c in CASES])
def test_kind_builds_from_config(role: PluginRole, block: dict[str, object], cls: type, tmp_path: Path) -> None:
    """Each kind validates its block with its own model and builds the adapter, unopened, checked against its port."""
    plugin = registry.get(role, str(block["kind"]))
    config = plugin.config_model.model_validate(block)
    built = plugin.build(config, PluginContext(base_dir=tmp_path, interface="i", canonical="Customer"))
    assert isinstance(built, cls)


def test_unknown_fields_and_bad_blocks_are_refused(tmp_path: Path) -> None:
    """Typos are config errors; a cloudevents sink needs exactly one transport."""
    plugin = registry.get(PluginRole.SINK, "rest")
    with pytest.raises(ValueError, match="urll"):
        plugin.config_model.model_validate({"kind": "rest", "urll": "x"})
    events = registry.get(PluginRole.SINK, "cloudevents")
    cfg = events.config_model.model_validate({"kind": "cloudevents", "type": "t", "source": "/s"})
    with pytest.raises(ConfigError):
        events.factory(cfg, PluginContext(base_dir=tmp_path, interface="i", canonical="Customer"))


def test_secrets_are_not_shown(tmp_path: Path) -> None:
    """Secret fields never appear in a config's repr."""
    plugin = registry.get(PluginRole.SOURCE, "webhook")
    config = plugin.config_model.model_validate({"kind": "webhook", "secret": "hunter2"})
    assert "hunter2" not in repr(config)
