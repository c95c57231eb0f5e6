"""The runtime: opens the ledger, sources and sinks; polls; runs the delivery workers; acknowledges.

``run_once`` (``esb-bridge run --once``) polls every interface once, delivers everything that can be
delivered (sleeping on the Clock until retries fall due, up to ``max_wait``) and acknowledges settled
batches. ``run_forever`` schedules polls with APScheduler (one poll per interface at a time) and runs a
bounded pool of worker threads per target until stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from logging import INFO, WARNING
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bridge.config.loader import LoadedConfig
from bridge.observability import tracing
from bridge.observability.logs import event
from bridge.ports import BridgeError, ChangeNotifier, Clock, ConfigError, Envelope, PathName, Router, SourceContext
from bridge.ports.failpoints import failpoint
from bridge.runtime.alerts import LEASE as ALERTS
from bridge.runtime.alerts import Alerts
from bridge.runtime.circuit import OPEN
from bridge.runtime.delivery import TargetWorker
from bridge.runtime.exitcodes import RunProblem
from bridge.runtime.forward import adopt_spooled_forwards
from bridge.runtime.lease_keeper import LeaseKeeper
from bridge.runtime.pipeline import Ingestor, IngestStats, Progress
from bridge.runtime.reconcile import ReconcileSchedule
from bridge.runtime.shutdown import wait_within
from bridge.runtime.wiring import InterfaceRuntime, RunScope, build_interfaces, compared_interfaces
from bridge.store.counts import fold_deltas
from bridge.store.ledger import Ledger, open_ledger
from bridge.store.records import BatchState, DeadLetterKind
from cutover.audit import Cutover
from cutover.comparator import Comparator, CompareStats
from cutover.flags import FlagStore
from cutover.router import FlagRouter

__all__ = ["DrainStats", "RunSummary", "Runner"]

log = logging.getLogger("esb_bridge.runtime")


@dataclass
class DrainStats:
    attempts: int = 0
    rounds: int = 0
    waited: float = 0.0
    open_left: int = 0


@dataclass
class _Waiting:
    interface: str
    batch: int
    envelope: Envelope


@dataclass
class RunSummary:
    ingest: dict[str, dict[str, int]] = field(default_factory=dict)
    drain: DrainStats = field(default_factory=DrainStats)
    acknowledged_late: int = 0
    #: a signal stopped the pass early (SIGTERM/Ctrl-C): what was not done is left for the next pass
    stopped: bool = False

    def problems(self) -> RunProblem:
        """What went wrong in the pass, as the bit set ``run --once`` exits with (see bridge.runtime.exitcodes)."""
        found = RunProblem(0)
        per = self.ingest.values()
        checks = [
            (RunProblem.POLL_FAILED, "poll_failed"),
            (RunProblem.BATCH_FAILED, "failed_batches"),
            (RunProblem.RECORDS_DEAD_LETTERED, "dead_letters"),
            (RunProblem.DELIVERIES_DEAD_LETTERED, "delivery_dead_letters"),
        ]
        for bit, key in checks:
            if any(st.get(key, 0) for st in per):
                found |= bit
        if self.drain.open_left or self.stopped:
            found |= RunProblem.WORK_LEFT_OPEN
        return found


class Runner:
    """One process's runtime over one config. Use as a context manager."""

    def __init__(
        self,
        loaded: LoadedConfig,
        clock: Clock,
        *,
        only: list[str] | None = None,
        router: Router | None = None,
        seed: int = 0,
        progress: Progress | None = None,
        store_url: str | None = None,
        delivery_progress: Progress | None = None,
        scope: RunScope | None = None,
    ) -> None:
        self.loaded = loaded
        #: what narrows the run between wiring and opening (a backtest), None for a live run
        self.scope = scope
        self.clock = clock
        self.only = only
        self.seed = seed
        self.progress = progress
        #: told (target, attempts recorded) after each claimed batch (the CLI's progress display)
        self.delivery_progress = delivery_progress
        self.store_url = store_url or loaded.store_url()
        self._router = router
        self._stack = ExitStack()
        self.interfaces: dict[str, InterfaceRuntime] = {}
        self.workers: dict[str, TargetWorker] = {}
        self._waiting: dict[int, _Waiting] = {}
        self._poll_locks: dict[str, threading.Lock] = {}
        self._spools: dict[str, Path] = {}
        #: interfaces whose source is paused by back-pressure (their backlog is above the bound)
        self._paused: set[str] = set()
        #: set by a signal during ``run_once``: no new batch is picked up, no new delivery round starts
        self._stop = threading.Event()
        #: wakes ``run --once``'s early delivery when a batch's deliveries were released; which interfaces
        self.released = threading.Event()
        self.released_interfaces: set[str] = set()
        self._release_lock = threading.Lock()
        self.ledger: Ledger
        self.scheduler: Any = None  # the running APScheduler inside run_forever (the admin API's /readyz)
        #: threads still running when run_forever's shutdown grace ran out (the caller exits without them)
        self.unfinished: list[str] = []
        #: how long a routed flag may be cached: a live ``cutover set`` is in force by the next poll cycle
        self.flag_ttl = min([1.0] + [i.schedule.every / 2 for i in loaded.config.interfaces.values()])

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        obs = self.loaded.config.observability
        try:
            self._stack.enter_context(tracing.configured(obs.otlp_endpoint, obs.service_name))
        except RuntimeError as exc:  # an endpoint is set but the `otel` extra is not installed
            raise ConfigError(str(exc)) from exc
        self.ledger = self._stack.enter_context(
            open_ledger(self.store_url, self.clock, protection=self.loaded.protection())
        )
        self.ledger.register_node()  # the node registry (cluster status); heartbeats from housekeeping
        self._stack.callback(self._leave)
        self.ledger.release_own_claims()
        self.ledger.release_orphaned_claims()
        failpoint("recovered")  # a second crash during recovery
        self.interfaces = build_interfaces(self.loaded, self.clock, self.only)
        if self.scope is not None:
            self.scope.adapt(self.interfaces)
        flags = FlagStore.of(self.ledger)
        flags.seed(self.loaded)
        self.router: Router = self._router or FlagRouter(
            flags, {n: i.config for n, i in self.interfaces.items()}, self.clock, ttl=self.flag_ttl
        )
        spool_root = self.loaded.base_dir / self.loaded.config.spool_dir
        compared = compared_interfaces(self.interfaces)
        if self.scope is not None:
            self.scope.adapt_compared(compared)
        self.comparator = self._stack.enter_context(Comparator(compared, self.ledger, spool_root=spool_root))
        self.alerts = Alerts(self.loaded, self.ledger, self.clock)
        for name, rt in self.interfaces.items():
            self._stack.enter_context(rt.source)
            spool = spool_root / name
            spool.mkdir(parents=True, exist_ok=True)
            self._spools[name] = spool
            rt.source.open(SourceContext(name, self.clock, spool, self.ledger))
            legacy = rt.paths.get(PathName.LEGACY)
            if legacy is not None and legacy.config.kind == "forward":
                adopt_spooled_forwards(self.ledger, name)  # bytes spooled before the blob store (upgrade)
            self._poll_locks[name] = threading.Lock()
            for target, (path, shadow) in rt.targets().items():
                sink = path.sink_for(shadow)
                assert sink is not None
                self._stack.enter_context(sink)
                self.workers[target] = TargetWorker(
                    target,
                    rt,
                    path,
                    shadow,
                    self.ledger,
                    self.clock,
                    lease=self.loaded.config.lease,
                    seed=self.seed,
                    progress=self.delivery_progress,
                )
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._stack.close()

    def _leave(self) -> None:
        """On the way out: this node's claims and leases are free at once (the next ``run --once``, a process
        of its own, polls without waiting for a lease to expire) and its row says it stopped. Best effort:
        the ledger may be the reason we stop; then expiry frees them."""
        try:
            self.ledger.release_own_claims()
            self.ledger.release_own_leases()
            self.ledger.stop_node()
        except Exception:
            log.warning("could not release node %s in the ledger", self.ledger.node, exc_info=True)

    # ----------------------------------------------------------------- poll side

    def poll(self, name: str) -> IngestStats:
        """One poll of one interface (never two at once for the same interface)."""
        rt = self.interfaces[name]
        lease = f"poll:{name}"
        if self._backpressured(name):
            return IngestStats(paused=True)
        with self._poll_locks[name]:
            # Across processes sharing one ledger, one node polls an interface at a time (taken over on expiry).
            ttl = timedelta(seconds=max(60.0, 3 * rt.config.schedule.every))
            held = self.ledger.acquire_lease(lease, ttl)
            if held is None:
                log.info("poll of %s skipped: another node holds its lease", name)
                return IngestStats()
            ingestor = Ingestor(
                rt, self.ledger, self.router, self.progress, lambda _b: self._released(name), stop=self._stop
            )
            # every commit of the poll is fenced by the lease's token; the keeper renews it while the poll runs
            with self.ledger.fenced(held), LeaseKeeper(self.ledger, held, ttl):
                stats = ingestor.poll(SourceContext(name, self.clock, self._spools[name], self.ledger))
            for batch, env in stats.waiting_ack.items():
                self._waiting[batch] = _Waiting(name, batch, env)
        return stats

    def _backpressured(self, name: str) -> bool:
        """Back-pressure: the source is not read while its interface has more than ``max_backlog`` open
        deliveries (a target that is down or slow must not turn the ledger into the queue of a whole month).
        Pausing and resuming are logged once each (``source_paused`` / ``source_resumed``)."""
        bound = self.interfaces[name].config.backpressure.max_backlog
        if not bound:
            return False
        backlog = self.ledger.backlog(name)
        paused = backlog > bound
        if paused != (name in self._paused):
            if paused:
                self._paused.add(name)
                event(log, WARNING, "source_paused", interface=name, backlog=backlog, max_backlog=bound)
            else:
                self._paused.discard(name)
                event(log, INFO, "source_resumed", interface=name, backlog=backlog, max_backlog=bound)
        return paused

    def _released(self, interface: str) -> None:
        with self._release_lock:
            self.released_interfaces.add(interface)
        self.released.set()

    def take_released(self) -> set[str]:
        """The interfaces with batches released since the last call (for ``run --once``'s early delivery)."""
        with self._release_lock:
            out, self.released_interfaces = self.released_interfaces, set()
            self.released.clear()
        return out

    def poll_all(self) -> dict[str, IngestStats]:
        out = {}
        for name in self.interfaces:
            if self._stop.is_set():  # stopping: the interfaces not polled yet wait for the next pass
                break
            try:
                out[name] = self.poll(name)
            except BridgeError as exc:
                log.error("poll of %s failed: %s", name, exc)
                out[name] = IngestStats(poll_error=str(exc))
        return out

    def acknowledge_settled(self) -> int:
        """``acknowledge: on_delivery`` batches whose authoritative deliveries are all finished (those of an
        interface whose poll is running are left for the next call)."""
        done = 0
        for batch, w in list(self._waiting.items()):
            if not self.ledger.batch_settled(batch):
                continue
            # Under the interface's poll lock: a source is used by one thread at a time (an SFTP session is
            # not thread-safe). While its poll runs, the acknowledgement waits for the next round.
            lock = self._poll_locks[w.interface]
            if not lock.acquire(blocking=False):
                continue
            try:
                failpoint("before_ack")
                failpoint("settled_before_ack")
                self.interfaces[w.interface].source.acknowledge(w.envelope)
                failpoint("settled_after_ack")
                self.ledger.mark_batch(
                    w.interface, w.envelope.batch_id, BatchState.ACKNOWLEDGED, origin=w.envelope.origin
                )
            finally:
                lock.release()
            del self._waiting[batch]
            done += 1
        return done

    # ----------------------------------------------------------------- delivery side

    def _target_round(self, worker: TargetWorker) -> int:
        total = 0
        while True:
            n = worker.run_batch()
            total += n
            if n == 0:
                return total

    def deliver_round(self, interfaces: set[str] | None = None) -> int:
        """Every target's pool (of ``interfaces``, default all) drains what is due now; the attempts made."""
        jobs = []
        total = 0
        pools: list[ThreadPoolExecutor] = []
        try:
            for worker in self.workers.values():
                if interfaces is not None and worker.rt.name not in interfaces:
                    continue
                n = worker.path.limits.concurrency
                pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix=f"deliver-{worker.target}")
                pools.append(pool)
                jobs += [pool.submit(self._target_round, worker) for _ in range(n)]
            for job in jobs:
                total += job.result()
        finally:
            for pool in pools:
                pool.shutdown(wait=True)
        return total

    def drain(self, max_wait: float = 3600.0) -> DrainStats:
        """Deliver until nothing is open, sleeping on the Clock for retries, at most ``max_wait`` seconds."""
        stats = DrainStats()
        targets = list(self.workers)
        while not self._stop.is_set():
            stats.rounds += 1
            stats.attempts += self.deliver_round()
            self.ledger.reap_expired_claims()
            self.acknowledge_settled()
            open_work = self.ledger.open_work(targets, include_held=False) if targets else 0
            stats.open_left = open_work
            if open_work == 0:
                self.compare_all()
                break
            due = self._next_due(targets)
            if due is None:
                self.clock.sleep(0.05)
                stats.waited += 0.05
                continue
            wait = max(0.0, (due - self.clock.now()).total_seconds())
            if stats.waited + wait > max_wait:
                break
            if wait > 0:
                self.clock.sleep(wait)
                stats.waited += wait
        return stats

    def _next_due(self, targets: list[str]) -> datetime | None:
        """When delivery can go on: the earliest due delivery of a target whose circuit is closed, or the
        earliest time an open circuit lets a probe through (its due deliveries wait for that)."""
        closed = [t for t in targets if self.workers[t].circuit.state != OPEN]
        times = [self.ledger.next_due(closed)] if closed else []
        times += [self.workers[t].circuit.retry_at for t in targets if t not in closed]
        known = [x for x in times if x is not None]
        return min(known) if known else None

    def run_once(self, max_wait: float = 3600.0, stop: threading.Event | None = None) -> RunSummary:
        """One pass: poll every interface, deliver (waiting for retries up to ``max_wait``), compare.

        ``stop`` (set by the CLI's signal handler): no further batch is picked up, each worker sends nothing
        more of its claimed batch once its current attempt is over, the drain ends; the summary says
        ``stopped`` and the caller releases this process's claims and leases (bridge.runtime.shutdown)."""
        if stop is not None:
            self._stop = stop
            for worker in self.workers.values():
                worker.stopping = stop
        summary = RunSummary()
        started = self.ledger.ledger_time()
        with _EarlyDelivery(self) as early:
            polled = self.poll_all()
        for name, st in polled.items():
            summary.ingest[name] = {
                "poll_failed": int(bool(st.poll_error)),
                "batches": st.batches,
                "records": st.records,
                "new_messages": st.new_messages,
                "dead_letters": st.dead_letters,
                "suppressed": st.suppressed,
                "failed_batches": st.failed_batches,
            }
        summary.drain = self.drain(max_wait)
        summary.drain.attempts += early.attempts
        summary.stopped = self._stop.is_set()
        summary.acknowledged_late = len(self._waiting)
        fold_deltas(self.ledger.engine)
        dead = self.ledger.dead_letters_since(started, list(self.interfaces), DeadLetterKind.DELIVERY)
        for name, row in summary.ingest.items():
            row["delivery_dead_letters"] = dead.get(name, 0)
        return summary

    # ----------------------------------------------------------------- continuous

    def run_forever(self, stop: threading.Event, idle: float = 1.0, grace: float = 30.0) -> None:
        """Scheduled polls plus worker threads until ``stop`` is set; then in-flight work gets ``grace`` seconds
        and this node's claims and leases are released (:mod:`bridge.runtime.shutdown`)."""
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler: Any = BackgroundScheduler(timezone="UTC")
        for name, rt in self.interfaces.items():
            scheduler.add_job(
                self._safe_poll,
                "interval",
                seconds=rt.config.schedule.every,
                args=[name],
                id=name,
                max_instances=1,
                coalesce=True,
                next_run_time=self.clock.now(),
            )
        scheduler.add_job(self._housekeeping, "interval", seconds=5, id="housekeeping", max_instances=1, coalesce=True)
        reconciling = ReconcileSchedule(self.loaded, self.ledger, self.clock, self.only)  # reconcile.every
        if reconciling.active:
            scheduler.add_job(
                reconciling.run_due, "interval", seconds=5, id="reconcile", max_instances=1, coalesce=True
            )
        scheduler.start()
        self.scheduler = scheduler
        threads = []
        for name, rt in self.interfaces.items():
            if isinstance(rt.source, ChangeNotifier):
                th = threading.Thread(
                    target=self._wake_loop, args=(name, rt.source, stop), daemon=True, name=f"wake-{name}"
                )
                th.start()
                threads.append(th)
        for worker in self.workers.values():
            worker.stopping = stop
            for i in range(worker.path.limits.concurrency):
                th = threading.Thread(
                    target=self._worker_loop,
                    args=(worker, stop, idle),
                    daemon=True,
                    name=f"deliver-{worker.target}-{i}",
                )
                th.start()
                threads.append(th)
        try:
            while not stop.wait(0.5):
                pass
        finally:
            self.clock.wake()
            self.unfinished = wait_within(grace, [lambda: scheduler.shutdown(wait=True)], threads)
            released = self.ledger.release_own_claims(), self.ledger.release_own_leases()
            log.info("stopped: %d claim(s) and %d lease(s) released", *released)

    def _wake_loop(self, name: str, source: ChangeNotifier, stop: threading.Event) -> None:
        """Poll as soon as a source reports new input, instead of waiting for the next scheduled poll."""
        while not stop.is_set():
            if source.wait_for_change(1.0) and not stop.is_set():
                self._safe_poll(name)

    def _safe_poll(self, name: str) -> None:
        try:
            self.poll(name)
        except BridgeError as exc:
            log.error("poll of %s failed: %s", name, exc)
        except Exception:
            log.exception("poll of %s crashed", name)

    def _housekeeping(self) -> None:
        self.ledger.heartbeat()  # this node is alive (cluster status)
        fold_deltas(self.ledger.engine)  # PostgreSQL's status-count deltas (bridge.store.counts)
        self.ledger.release_orphaned_claims()
        self.ledger.reap_expired_claims()
        self.acknowledge_settled()
        try:
            self.compare_round()
        except Exception:
            log.exception("comparison round failed; continuing")
        if self.alerts.enabled and self.alerts.due() and self.ledger.acquire_lease(ALERTS, self.alerts.lease_ttl()):
            try:
                self.alerts.check()
            except Exception:
                log.exception("alert evaluation failed; continuing")

    def compare_round(self) -> CompareStats:
        """Shadow comparison of what is ready (both outcomes in, or settle window over), then the guards."""
        with tracing.span("compare", {"esb.interfaces": len(self.interfaces)}) as span:
            stats = self.comparator.compare_round()
            if span is not None:
                span.set_attribute("esb.compared", stats.compared)
                for status, n in stats.by_status.items():
                    span.set_attribute(f"esb.compared.{status}", n)
        cutover = Cutover(self.ledger)
        for name in self.interfaces:
            demoted = cutover.guard(name)
            if demoted is not None:
                log.warning("guard demoted %s to %s (v%s)", name, demoted.mode, demoted.version)
        return stats

    def compare_all(self, rounds: int = 10_000) -> int:
        """Comparison rounds until one compares nothing (a round takes at most the comparator's batch per
        interface): what ``run --once`` and a backtest slice end with. Returns how many were compared."""
        total = 0
        for _ in range(rounds):
            n = self.compare_round().compared
            total += n
            if n == 0:
                break
        return total

    def _worker_loop(self, worker: TargetWorker, stop: threading.Event, idle: float) -> None:
        while not stop.is_set():
            try:
                if worker.run_batch() == 0:
                    time.sleep(idle)  # idle wait is real time: a simulated clock would spin
            except Exception:
                log.exception("delivery worker %s failed; continuing", worker.target)
                time.sleep(idle)


class _EarlyDelivery:
    """``run --once`` delivers what is released while later batches (files, pages) are still being decoded.

    A thread runs delivery rounds next to the poll until the poll is over; then ``drain`` takes over (the
    thread has stopped by then, so the two never claim at once). It runs a round only after a batch was
    released (``Runner.released``), over the targets of the interfaces that released one, until nothing is
    due: idle claims would take SQLite's writer lock from the poll's chunk transactions. A batch's deliveries
    are still released only once the whole batch decoded, so on ONE big file nothing overlaps: the thread
    sleeps until the file's last chunk is in. An error of the thread (the ledger unreachable) is raised in the
    caller when the poll is over.
    """

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="deliver-early", daemon=True)
        self.attempts = 0

    def _loop(self) -> None:
        try:
            released = self._runner.released
            while not self._done.is_set():
                if not released.wait(0.05):
                    continue
                # Only the targets of interfaces that released a batch: the others have nothing new.
                self.attempts += self._runner.deliver_round(self._runner.take_released())
        except BaseException as exc:  # handed to the caller in __exit__
            self._error = exc

    def __enter__(self) -> Self:
        if self._runner.workers:
            self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._error is not None and et is None:
            raise self._error
