"""Base class, validation modes and the registry of canonical document types.

Two validation modes exist because the same model serves two jobs. ``strict`` guards inbound data: a
business-rule violation (totals that do not add up) raises ``ValidationError``. ``observed`` reads back what a
target holds: there a violation is a fact to report, so it becomes a human-readable entry in ``notes`` and the
comparison shows it as a diff note. Type errors (a float amount, a naive datetime) are errors in both modes.
Rules stricter than the standard a model follows are opt-in: the context's ``checks`` names the ones to run.
A violation names its rule first (``"BR-CO-16: payable_amount: ..."``, EN 16931's id where the standard has the
rule): the strict error's context lists the ids under ``rules``, and :func:`rule_of` reads one back from a note.
This module must not import the concrete models; they register themselves with :func:`register`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Self, TypeVar, cast, get_args

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "MODELS",
    "CanonicalModel",
    "RuledModel",
    "ValidationMode",
    "json_schemas",
    "load_stored",
    "model_for",
    "register",
    "rule_of",
    "rules_of",
    "validate_observed",
    "validate_strict",
]

ValidationMode = Literal["strict", "observed", "stored"]
_MODES: tuple[str, ...] = get_args(ValidationMode)

M = TypeVar("M", bound="CanonicalModel")

#: Canonical document types by name ("Invoice" -> Invoice), filled by :func:`register` at import time.
MODELS: dict[str, type[CanonicalModel]] = {}


#: A violation's leading rule id: ``BR-CO-10``, ``BR-S-08``, ``PEPPOL-EN16931-R120``, ``ESB-LINE-ID``.
_RULE_ID = re.compile(r"([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+): ")


def rule_of(violation: str) -> str | None:
    """The rule id a violation message starts with (``"BR-CO-16: payable_amount: ..."`` -> ``"BR-CO-16"``)."""
    match = _RULE_ID.match(violation)
    return match.group(1) if match else None


def rules_of(violations: Iterable[str]) -> list[str]:
    """The distinct rule ids of ``violations``, in the order they first occur."""
    return list(dict.fromkeys(rule for v in violations if (rule := rule_of(v)) is not None))


def _unnamed(violation: str) -> str:
    """A violation without its rule id: how notes stored before rules were named read."""
    match = _RULE_ID.match(violation)
    return violation[match.end() :] if match else violation


def _mode_of(info: ValidationInfo) -> ValidationMode:
    context = info.context
    if context is None:
        return "strict"
    if not isinstance(context, Mapping):
        raise TypeError(f"validation context must be a mapping, got {type(context).__name__}")
    mode = context.get("mode", "strict")
    if mode not in _MODES:
        raise ValueError(f"unknown validation mode {mode!r}; expected one of {', '.join(_MODES)}")
    return cast(ValidationMode, mode)


class CanonicalModel(BaseModel):
    """Immutable, exact, versioned business data shared by every decoder, encoder, projection and comparison.

    Subclasses override :attr:`business_key` and, when they have cross-field rules, :meth:`_business_rules`.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=False,
        use_attribute_docstrings=True,
        ser_json_inf_nan="strings",
    )

    schema_version: Literal["1.0"] = "1.0"
    """Version of this model's shape; a document of another version fails instead of being misread."""
    notes: tuple[str, ...] = ()
    """Business-rule violations found in observed mode (and any carried over from an earlier validation)."""

    @property
    def business_key(self) -> str:
        """Stable business identity (invoice number, customer number...): for ordering, pairing and xrefs.

        A plain property rather than a serialised field, so that ``model_dump`` output validates back under
        ``extra="forbid"``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define a business key")

    def _business_rules(self) -> list[str]:
        """Return one message per violated cross-field rule, each naming the field path and both values.

        May also set derived fields (e.g. ``Invoice.tax_rounding``) with ``object.__setattr__``; it runs once,
        at the end of validation, on a frozen instance nobody else has seen yet. Only a :class:`RuledModel`
        runs it: a class that overrides it must derive from that.
        """
        return []

    def _opt_in_rules(self, checks: frozenset[str]) -> list[str]:
        """Like :meth:`_business_rules`, for the stricter-than-the-standard ``checks`` the caller turned on."""
        return []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_business_rules" in cls.__dict__ and not issubclass(cls, RuledModel):
            raise TypeError(f"{cls.__name__} defines _business_rules: derive it from RuledModel so they run")


class RuledModel(CanonicalModel):
    """A canonical model with cross-field business rules, checked after its fields validate.

    Separate from :class:`CanonicalModel` because the check is a Python call from pydantic-core for every
    instance: an invoice's lines and addresses have no rules of their own and skip it.
    """

    @model_validator(mode="after")
    def _apply_business_rules(self, info: ValidationInfo) -> Self:
        mode = _mode_of(info)
        if mode == "stored":  # the ledger's own payload: its rules passed at ingest (see load_stored)
            return self
        violations = self._business_rules()
        context = info.context  # a mapping (checked by _mode_of); read inline: this runs for every record
        checks = context.get("checks") if context else None
        if checks:
            violations += self._opt_in_rules(frozenset(checks))
        if not violations:
            return self
        if mode == "strict":
            raise PydanticCustomError(
                "business_rule",
                "business rule violated: {details}",
                {"details": "; ".join(violations), "violations": violations, "rules": rules_of(violations)},
            )
        # A note stored before violations named their rule ("payable_amount: ...") is the same finding as
        # today's "BR-CO-16: payable_amount: ...": it is not added a second time.
        known = set(self.notes)
        fresh = tuple(v for v in violations if v not in known and _unnamed(v) not in known)
        object.__setattr__(self, "notes", self.notes + fresh)
        return self


def register(cls: type[M]) -> type[M]:
    """Class decorator adding a top-level document type to :data:`MODELS` under its class name."""
    MODELS[cls.__name__] = cls
    return cls


def model_for(name: str) -> type[CanonicalModel]:
    """Return the canonical type called ``name`` (as written in an interface's ``canonical:`` key)."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown canonical model {name!r}; valid names: {', '.join(sorted(MODELS))}") from None


def _validate(cls: type[M], data: Any, mode: ValidationMode) -> M:
    context = {"mode": mode}
    if isinstance(data, str | bytes | bytearray):
        return cls.model_validate_json(data, context=context)
    return cls.model_validate(data, context=context)


def validate_strict(cls: type[M], data: Any) -> M:
    """Validate inbound ``data`` (mapping, model or JSON text); any business-rule violation raises."""
    return _validate(cls, data, "strict")


def validate_observed(cls: type[M], data: Any) -> M:
    """Validate ``data`` read back from a target; business-rule violations land in ``notes`` instead."""
    return _validate(cls, data, "observed")


def load_stored(cls: type[M], payload: str | bytes) -> M:
    """A record back from the payload the ledger stored for it, without running its business rules again.

    Why: the ledger stores only ``canonical_json`` of a record that passed :func:`validate_strict` at
    ingest (derived fields such as ``Invoice.tax_rounding`` included), so re-checking its cross-field rules
    at each delivery is work with a known answer, about a third of the cost of loading an invoice. Types are
    still validated (pydantic-core: the fastest way to build the models; a Python ``model_construct`` walk
    measured slower), so a payload that is not this model's shape still fails loudly. Never for inbound or
    read-back data: those go through :func:`validate_strict` / :func:`validate_observed`.
    """
    return cls.model_validate_json(payload, context={"mode": "stored"})


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (validation mode) of every registered document type, keyed by model name."""
    return {name: cls.model_json_schema(mode="validation") for name, cls in MODELS.items()}
