"""The demo's systems, started in-process on free 127.0.0.1 ports and stopped at the end (also on error):

* the ERP's SFTP drop: the embedded SFTP server serving ``<workdir>/sftp`` (host key generated per run and
  pinned by fingerprint in the config: no unknown-host opt-in);
* the legacy ERP and the legacy billing system: two instances of the legacy ERP SOAP simulator;
* the cloud landscape (CRM with signed webhooks, billing, ERP): the cloud simulator, and another one as the
  cloud billing's sandbox (the backtest's target);
* the subscription-billing system: a third cloud simulator that invoices a new subscription's first period
  (an ``invoice.created`` webhook, signed with its own secret).

The scenario's YAML names them with ``${DEMO_*}`` placeholders; :meth:`Landscape.render` writes the actual
ports and the host key fingerprint into the demo's copy of the scenario, so ``esb-bridge --config`` on that
copy (status, dlq, messages) works after the demo without any environment. Simulators run in real time.
"""

from __future__ import annotations

import base64
import re
import secrets
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from adapters.legacy.sftp_server import EmbeddedSftpServer
from bridge.ports import Resource
from samples.cloud_sim.server import SimServer
from samples.legacy_erp.simulator import ErpSimulator
from samples.legacy_erp.store import Customer, ErpStore

__all__ = ["Landscape"]

_PLACEHOLDER = re.compile(r"\$\{(DEMO_[A-Z_]+)\}")
_SECRETS = frozenset({"DEMO_SFTP_PASSWORD", "DEMO_WEBHOOK_SECRET", "DEMO_BILLING_WEBHOOK_SECRET"})
_EXCHANGE = "esb-bridge.events"  # the cloudevents sink's default exchange
_QUEUE = "esb-bridge-demo.payments"


class Landscape(Resource):
    """``with Landscape(workdir) as systems:`` serves every simulated system until the block ends."""

    def __init__(self, workdir: Path, *, customers: int = 2000, amqp: str | None = None) -> None:
        self.workdir = workdir
        self.amqp = amqp
        self.sftp_root = workdir / "sftp"
        self._customers = customers
        self._stack = ExitStack()
        self._password = secrets.token_urlsafe(16)
        self.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self.billing_webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self.sftp: EmbeddedSftpServer | None = None
        self.legacy_erp: ErpSimulator | None = None
        self.legacy_billing: ErpSimulator | None = None
        self.cloud: SimServer | None = None
        self.subscription_billing: SimServer | None = None
        #: the cloud billing's sandbox: what a backtest of invoices-to-billing delivers to (samples.demo_app.archive)
        self.cloud_sandbox: SimServer | None = None

    def on_enter(self) -> None:
        try:
            self.sftp = self._stack.enter_context(EmbeddedSftpServer(self.sftp_root, users={"erp": self._password}))
            billing = ErpStore()
            # Master data migrated before the demo starts: legacy billing refuses invoices of unknown customers.
            since = datetime(2026, 1, 1, tzinfo=UTC)
            for n in range(1, self._customers + 1):
                cid = f"C-{n:05d}"
                billing.customers[cid] = Customer(cid, f"Customer {n}", "DE", modified_at=since)
            self.legacy_billing = self._stack.enter_context(ErpSimulator(billing))
            self.legacy_erp = self._stack.enter_context(ErpSimulator())
            self.cloud = self._stack.enter_context(SimServer())
            # The cloud billing knows customers by the ERP's number; the demo does not migrate the cloud CRM.
            self.cloud.state.config.check_references = False
            # Subscription billing knows customers by the customer master's (the legacy ERP's) id, which the
            # bridge resolves; it invoices each new subscription's first period at once.
            self.subscription_billing = self._stack.enter_context(SimServer())
            self.subscription_billing.state.config.check_references = False
            self.subscription_billing.state.config.bill_subscriptions = True
            self.cloud_sandbox = self._stack.enter_context(SimServer())
            self.cloud_sandbox.state.config.check_references = False
            if self.amqp:
                self._bind_demo_queue(self.amqp)
        except BaseException:  # a half-started landscape stops what did start
            self._stack.close()
            raise

    def close(self) -> None:
        self._stack.close()

    def _bind_demo_queue(self, url: str) -> None:
        """With ``--amqp``: the cloud's consumer queue for payment events exists before the bridge publishes
        (the sink publishes mandatory: an unroutable event is a failure, not a silent loss). Emptied first, so
        the summary counts this run's events."""
        import pika  # only with --amqp

        connection = pika.BlockingConnection(pika.URLParameters(url))
        try:
            channel = connection.channel()
            channel.exchange_declare(exchange=_EXCHANGE, exchange_type="topic", durable=True)
            channel.queue_declare(queue=_QUEUE, durable=True)
            channel.queue_bind(queue=_QUEUE, exchange=_EXCHANGE, routing_key="com.example.payment.#")
            channel.queue_purge(queue=_QUEUE)
        finally:
            connection.close()

    def _queued_events(self) -> int:
        import pika  # only with --amqp

        connection = pika.BlockingConnection(pika.URLParameters(self.amqp))
        try:
            return int(connection.channel().queue_declare(queue=_QUEUE, durable=True).method.message_count)
        finally:
            connection.close()

    def values(self) -> dict[str, str]:
        """What the ``${DEMO_*}`` placeholders stand for while the landscape runs."""
        assert self.sftp is not None and self.legacy_billing is not None and self.legacy_erp is not None
        assert self.cloud is not None and self.subscription_billing is not None
        return {
            "DEMO_SFTP_PORT": str(self.sftp.port),
            "DEMO_SFTP_PASSWORD": self._password,
            "DEMO_SFTP_FINGERPRINT": self.sftp.fingerprint,
            "DEMO_LEGACY_BILLING_URL": self.legacy_billing.url,
            "DEMO_LEGACY_ERP_URL": self.legacy_erp.url,
            "DEMO_WEBHOOK_SECRET": self.webhook_secret,
            "DEMO_EVENTS_TRANSPORT": (
                f'amqp: {{url: "{self.amqp}"}}' if self.amqp else f'http: {{url: "{self.cloud.url}/v1/events"}}'
            ),
            "DEMO_CLOUD_URL": self.cloud.url,
            "DEMO_SUBSCRIPTION_BILLING_URL": self.subscription_billing.url,
            "DEMO_BILLING_WEBHOOK_SECRET": self.billing_webhook_secret,
        }

    def holdings(self) -> dict[str, int]:
        """How many documents each simulated target system holds (the demo summary's ``systems``)."""
        assert self.legacy_billing is not None and self.legacy_erp is not None and self.cloud is not None
        assert self.subscription_billing is not None
        billing = self.subscription_billing.state.records
        return {
            "legacy-billing.invoices": len(self.legacy_billing.store.invoices),
            "cloud.invoices": len(self.cloud.state.records["invoices"]),
            "legacy-erp.customers": len(self.legacy_erp.store.customers),
            "cloud.erp-customers": sum(1 for k in self.cloud.state.ingested if k.startswith("erp-customers/")),
            "cloud.events": self._queued_events() if self.amqp else len(self.cloud.state.events_received),
            "legacy-erp.orders": len(self.legacy_erp.store.orders),
            "cloud.erp-orders": sum(1 for k in self.cloud.state.ingested if k.startswith("erp-orders/")),
            "subscription-billing.subscriptions": len(billing["subscriptions"]),
            "subscription-billing.invoices": len(billing["invoices"]),
            "cloud.erp-revenue": sum(1 for k in self.cloud.state.ingested if k.startswith("erp-revenue/")),
        }

    def render(self, folder: Path) -> None:
        """Replace the address placeholders in every YAML file of the scenario copy in ``folder``.

        Secrets are not written into the copy: they stay ``${VAR:-}`` references, filled from :meth:`secrets`
        while the demo runs (and empty afterwards, when the simulators are gone anyway).
        """
        values = self.values()

        def fill(m: re.Match[str]) -> str:
            name = m.group(1)
            return f"${{{name}:-}}" if name in _SECRETS else values[name]

        for path in sorted(folder.rglob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if "${DEMO_" in text:
                path.write_text(_PLACEHOLDER.sub(fill, text), encoding="utf-8")

    def secrets(self) -> dict[str, str]:
        """The secret values, for the environment the demo loads its config with (never written to disk)."""
        values = self.values()
        return {name: values[name] for name in _SECRETS}
