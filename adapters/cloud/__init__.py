"""Cloud adapters: REST sink and read-back, CloudEvents sinks (RabbitMQ, HTTP), webhook and REST-poll sources.

One module per technology; they move bytes and know no canonical model. Every third-party failure (httpx,
pika) is translated here into the bridge's error tree; sinks make one attempt and return an Outcome.
"""

from adapters.cloud.events import AmqpEventSink, CloudEventsSinkConfig, HttpEventSink, cloud_event
from adapters.cloud.openapi import OpenApiSpec, Operation
from adapters.cloud.rest import RestSink, RestSinkConfig
from adapters.cloud.rest_poll import RestPollSource, RestPollSourceConfig
from adapters.cloud.specdiff import BreakingChange, diff_operation
from adapters.cloud.webhook import WebhookSource, WebhookSourceConfig

__all__ = [
    "AmqpEventSink",
    "BreakingChange",
    "CloudEventsSinkConfig",
    "HttpEventSink",
    "OpenApiSpec",
    "Operation",
    "RestPollSource",
    "RestPollSourceConfig",
    "RestSink",
    "RestSinkConfig",
    "WebhookSource",
    "WebhookSourceConfig",
    "cloud_event",
    "diff_operation",
]
