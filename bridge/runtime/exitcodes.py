"""Exit codes of ``esb-bridge run --once``: what a scheduler (cron, systemd, Airflow) can trust.

A pass that could not do everything it was asked must not exit 0. The codes compose: 1 and 2 stand alone
(the pass did not run, or crashed), every code from 4 up is a bit set of problems of a pass that ran to its
end, so ``code & 16`` tells "deliveries were dead-lettered" whatever else went wrong. docs/operations.md and
``run --help`` document the same table; a test keeps the three in step.
"""

from __future__ import annotations

from enum import IntFlag

__all__ = ["INTERNAL_ERROR", "USAGE_ERROR", "ReconcileProblem", "RunProblem", "exit_code_help", "reconcile_code_help"]

#: an unexpected error (a bug, an unreachable ledger): the pass did not finish
INTERNAL_ERROR = 1
#: a bad command line or config file: nothing ran
USAGE_ERROR = 2


class RunProblem(IntFlag):
    """One bit per kind of problem of a pass that ran; the exit code is their union (0: none)."""

    POLL_FAILED = 4
    BATCH_FAILED = 8
    RECORDS_DEAD_LETTERED = 16
    DELIVERIES_DEAD_LETTERED = 32
    WORK_LEFT_OPEN = 64

    @property
    def meaning(self) -> str:
        return _MEANING[self]


_MEANING = {
    RunProblem.POLL_FAILED: "a poll failed (missing or unreadable drop folder, unreachable SFTP or SOAP source)",
    RunProblem.BATCH_FAILED: "a batch (a whole file or page) failed to decode: a batch dead letter",
    RunProblem.RECORDS_DEAD_LETTERED: "records could not be decoded: record dead letters",
    RunProblem.DELIVERIES_DEAD_LETTERED: "deliveries were dead-lettered (rejected, or retries exhausted)",
    RunProblem.WORK_LEFT_OPEN: (
        "work left open: deliveries still open when --max-wait ran out, or a signal stopped the pass"
    ),
}


def exit_code_help() -> str:
    """The exit code table as ``run --help`` shows it."""
    return _help(
        [
            "0 everything polled, decoded and delivered",
            f"{INTERNAL_ERROR} internal error (the pass did not finish)",
            f"{USAGE_ERROR} usage or config error (nothing ran)",
        ],
        [f"{p.value} {p.meaning}" for p in RunProblem],
        "codes from 4 up are a sum (a bit set), e.g. 36 = 4 + 32.",
    )


def _help(alone: list[str], bits: list[str], note: str) -> str:
    return "; ".join([*alone, *bits, note])


class ReconcileProblem(IntFlag):
    """The exit code of ``esb-bridge reconcile``: the same scheme (1 and 2 alone, a bit set from 4 up)."""

    TARGET_UNREADABLE = 4
    DIFFERENCES = 8

    @property
    def meaning(self) -> str:
        return _RECONCILE_MEANING[self]


_RECONCILE_MEANING = {
    ReconcileProblem.TARGET_UNREADABLE: "a target's listing could not be read: that path is incomplete",
    ReconcileProblem.DIFFERENCES: "differences were found (missing, extra or changed records, sums that differ)",
}


def reconcile_code_help() -> str:
    """The exit code table as ``reconcile --help`` shows it."""
    return _help(
        [
            "0 every path matched its target (or has no listing)",
            f"{INTERNAL_ERROR} internal error",
            f"{USAGE_ERROR} usage or config error",
        ],
        [f"{p.value} {p.meaning}" for p in ReconcileProblem],
        "codes from 4 up are a sum, e.g. 12 = 4 + 8.",
    )
