"""Decimal money helpers, ISO-4217 currency codes and the constrained types every canonical model uses.

Money is always ``Decimal`` plus a currency: floats cannot carry exact cents, so a float input is a type error
in every validation mode. This module has no models and knows nothing about documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

__all__ = [
    "ISO_4217_CODES",
    "Amount",
    "AwareDateTime",
    "CountryCode",
    "CurrencyCode",
    "ExactDecimal",
    "NonNegativeAmount",
    "PositiveAmount",
    "PositiveQuantity",
    "Quantity",
    "TaxCategoryCode",
    "TaxRate",
    "decimal_str",
    "exceeds_minor_units",
    "minor_units",
    "money_quantum",
    "round_half_up",
    "round_money",
    "sum_decimals",
]

#: Current ISO-4217 alphabetic codes (list one), with the fund and metal codes that ERPs do carry, but not
#: the test code XTS nor XXX ("no currency"), which must never reach a target. Withdrawn HRK, ZWL left out.
ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN
    NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL
    SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
#: Minor units for currencies that do not use two decimals; every other code uses 2.
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    "CLF": 4,
    "UYW": 4,
}

#: UN/CEFACT UNCL5305 duty/tax/fee category codes: the whole list, not only the subset EN 16931 uses
#: (S, Z, E, AE, K, G, O, L, M, B): a document valid in its own profile must not be refused for its code.
TaxCategoryCode = Literal[
    "S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B", "A", "AA", "AB", "AC", "AD", "C", "D", "F", "H", "I", "J"
]


#: ``10 ** -places`` for every minor-unit count in use: quantizing is on the hot path of every document's
#: business rules, and building the quantum per call cost more than the quantize itself.
_QUANTA: dict[int, Decimal] = {places: Decimal(1).scaleb(-places) for places in range(7)}
_CURRENCY_QUANTUM: dict[str, Decimal] = {
    code: _QUANTA[_MINOR_UNITS.get(code, 2)] for code in ISO_4217_CODES | _MINOR_UNITS.keys()
}


def minor_units(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit (2 unless the table says otherwise)."""
    return _MINOR_UNITS.get(currency, 2)


def money_quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency`` (0.01 EUR, 1 JPY, 0.001 KWD), as a quantize exponent."""
    quantum = _CURRENCY_QUANTUM.get(currency)
    return quantum if quantum is not None else _QUANTA[2]


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round commercially (half away from zero), as tax authorities and ERPs do; not banker's rounding."""
    quantum = _QUANTA.get(places)
    return value.quantize(quantum if quantum is not None else Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round ``value`` half-up to the minor unit of ``currency``."""
    return value.quantize(money_quantum(currency), rounding=ROUND_HALF_UP)


def exceeds_minor_units(value: Decimal, currency: str) -> bool:
    """True when ``value`` has non-zero digits below the currency's minor unit (12.505 EUR, 10.5 JPY)."""
    return value != value.quantize(money_quantum(currency), rounding=ROUND_HALF_UP)


def sum_decimals(values: Iterable[Decimal]) -> Decimal:
    """Sum that is a ``Decimal`` even for an empty iterable (``sum`` would give the int 0)."""
    return sum(values, Decimal(0))


def decimal_str(value: Decimal) -> str:
    """Fixed-point text of ``value`` keeping its scale ("12.50" stays "12.50"), never exponent notation."""
    return format(value, "f")


def _check_currency(value: str) -> str:
    if value not in ISO_4217_CODES:
        raise ValueError(f"unknown ISO-4217 currency code {value!r}")
    return value


def _check_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "naive datetime rejected: a timezone offset is required (e.g. 2024-01-31T09:30:00+01:00 or ...Z)"
        )
    return value


_DECIMAL_TYPE_MESSAGE = (
    "a decimal must be a string, an int or a Decimal: a float is not accepted (it cannot carry exact cents), "
    "nor is a bool"
)
_DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"


class ExactDecimal:
    """``Annotated`` marker making a ``Decimal`` field exact: str, int or Decimal in; float, bool, NaN, inf out.

    The whole check runs inside pydantic-core (a type-only union, then a finite decimal with the bounds), never
    as a Python callback: money fields are the bulk of every document, and per-field Python validators cost
    more than the rest of the validation together. Bounds belong here rather than in a separate
    ``Field(ge=...)``, which pydantic could only apply as a Python function after this custom schema.
    """

    __slots__ = ("bounds",)

    def __init__(self, *, ge: int | None = None, gt: int | None = None, le: int | None = None) -> None:
        self.bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le)) if v is not None}

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        def bound(name: str) -> Decimal | None:
            value = self.bounds.get(name)
            return None if value is None else Decimal(value)

        decimal = cs.decimal_schema(allow_inf_nan=False, ge=bound("ge"), gt=bound("gt"), le=bound("le"))

        def accepted(*types: cs.CoreSchema) -> cs.CoreSchema:
            # Type check only (values pass through unchanged); the decimal step parses and bounds them.
            union = cs.union_schema(
                list(types),
                mode="left_to_right",
                custom_error_type="exact_decimal_type",
                custom_error_message=_DECIMAL_TYPE_MESSAGE,
            )
            return cs.chain_schema([union, decimal])

        exact_str, exact_int = cs.str_schema(strict=True), cs.int_schema(strict=True)
        return cs.json_or_python_schema(
            json_schema=accepted(exact_str, exact_int),
            python_schema=accepted(cs.is_instance_schema(Decimal), exact_str, exact_int),
            serialization=cs.plain_serializer_function_ser_schema(decimal_str, when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        if handler.mode == "serialization":
            return {"type": "string", "pattern": _DECIMAL_PATTERN}
        names = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum"}
        integer: dict[str, Any] = {"type": "integer", **{names[k]: v for k, v in self.bounds.items()}}
        return {"anyOf": [{"type": "string", "pattern": _DECIMAL_PATTERN}, integer]}


#: A monetary amount in the owning document's ``currency``. JSON: a string keeping the scale ("12.50").
Amount = Annotated[Decimal, ExactDecimal()]
#: An amount that cannot be negative (a price, an allowance, a credit limit).
NonNegativeAmount = Annotated[Decimal, ExactDecimal(ge=0)]
#: An amount that must be above zero (a payment).
PositiveAmount = Annotated[Decimal, ExactDecimal(gt=0)]
#: A quantity of units (may be fractional: 1.5 hours); exact like money.
Quantity = Annotated[Decimal, ExactDecimal()]
#: A quantity that must be above zero (a price base quantity, a subscribed quantity).
PositiveQuantity = Annotated[Decimal, ExactDecimal(gt=0)]
#: A tax rate in percent (19 means 19 %).
TaxRate = Annotated[Decimal, ExactDecimal(ge=0, le=100)]
#: An ISO-4217 alphabetic currency code, upper case.
CurrencyCode = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_check_currency)]
#: An ISO 3166-1 alpha-2 country code, upper case.
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
#: A timezone-aware datetime; a naive one is rejected: an ERP's local time is ambiguous across systems.
AwareDateTime = Annotated[datetime, AfterValidator(_check_aware)]
