"""The cloud kinds as registry plugins (entry point ``cloud`` in group ``esb_bridge.plugins``).

Factories build objects only; every network resource opens in ``__enter__``/``open``. Relative paths in a
config (an OpenAPI file) are resolved against the config file's folder.
"""

from __future__ import annotations

from typing import Any

from adapters.cloud.amqp_source import AmqpSource, AmqpSourceConfig
from adapters.cloud.cli import cloud
from adapters.cloud.events import AmqpEventSink, CloudEventsSinkConfig, HttpEventSink
from adapters.cloud.rest import RestSink, RestSinkConfig
from adapters.cloud.rest_listing import RestListing, RestListingConfig
from adapters.cloud.rest_poll import RestPollSource, RestPollSourceConfig
from adapters.cloud.webhook import WebhookSource, WebhookSourceConfig
from bridge.ports import ConfigError, Plugin, PluginContext, Sink
from bridge.ports.plugins import LISTING, READBACK, SINK, SOURCE, plugin

__all__ = ["PLUGINS"]


def _rest_sink(config: RestSinkConfig, ctx: PluginContext) -> RestSink:
    if config.openapi:
        config = config.model_copy(update={"openapi": str(ctx.resolve(config.openapi))})
    if ctx.target and not config.target:
        config = config.model_copy(update={"target": ctx.target})
    return RestSink(config, clock=ctx.clock)


def _event_sink(config: CloudEventsSinkConfig, ctx: PluginContext) -> Sink:
    if (config.amqp is None) == (config.http is None):
        raise ConfigError("a cloudevents sink takes exactly one of 'amqp' and 'http'")
    return AmqpEventSink(config, clock=ctx.clock) if config.amqp else HttpEventSink(config, clock=ctx.clock)


PLUGINS: tuple[Plugin[Any, Any], ...] = (
    plugin(
        SINK,
        "rest",
        RestSinkConfig,
        _rest_sink,
        cli=cloud,
        description="REST API sink: idempotency key, auth, OpenAPI contract check, bulk",
    ),
    plugin(
        READBACK,
        "rest",
        RestSinkConfig,
        _rest_sink,
        description="REST read-back: GET by business key after delivery",
    ),
    plugin(
        LISTING,
        "rest",
        RestListingConfig,
        lambda c, ctx: RestListing(c, clock=ctx.clock),
        description="list what the target holds from its collection endpoint, page by page (reconcile)",
    ),
    plugin(
        SINK,
        "cloudevents",
        CloudEventsSinkConfig,
        _event_sink,
        description="CloudEvents 1.0 to RabbitMQ (publisher confirms) or HTTP (binary/structured)",
    ),
    plugin(
        SOURCE,
        "webhook",
        WebhookSourceConfig,
        lambda c, _ctx: WebhookSource(c),
        description="signed webhooks (HMAC-SHA256), 2xx only once durable",
    ),
    plugin(
        SOURCE,
        "amqp",
        AmqpSourceConfig,
        lambda c, _ctx: AmqpSource(c),
        description="RabbitMQ queue consumer: ack after the ledger commit, prefetch, CloudEvents, redelivery de-dup",
    ),
    plugin(
        SOURCE,
        "rest_poll",
        RestPollSourceConfig,
        lambda c, _ctx: RestPollSource(c),
        description="REST change feed: updated_since cursor, page/offset/cursor/Link pagination",
    ),
)
