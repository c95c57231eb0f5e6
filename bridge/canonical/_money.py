"""Decimal money helpers, ISO-4217 currency codes and the constrained types every canonical model uses.

Money is always ``Decimal`` plus a currency: floats cannot carry exact cents, so a float input is a type error
in every validation mode. This module has no models and knows nothing about documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

__all__ = [
    "ISO_4217_CODES",
    "Amount",
    "AwareDateTime",
    "CountryCode",
    "CurrencyCode",
    "Quantity",
    "TaxCategoryCode",
    "TaxRate",
    "decimal_str",
    "exceeds_minor_units",
    "minor_units",
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

#: UN/CEFACT UNCL5305 tax category codes as used by UBL / EN 16931.
TaxCategoryCode = Literal["S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B"]


def minor_units(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit (2 unless the table says otherwise)."""
    return _MINOR_UNITS.get(currency, 2)


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round commercially (half away from zero), as tax authorities and ERPs do; not banker's rounding."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round ``value`` half-up to the minor unit of ``currency``."""
    return round_half_up(value, minor_units(currency))


def exceeds_minor_units(value: Decimal, currency: str) -> bool:
    """True when ``value`` has non-zero digits below the currency's minor unit (12.505 EUR, 10.5 JPY)."""
    return value != value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def sum_decimals(values: Iterable[Decimal]) -> Decimal:
    """Sum that is a ``Decimal`` even for an empty iterable (``sum`` would give the int 0)."""
    return sum(values, Decimal(0))


def decimal_str(value: Decimal) -> str:
    """Fixed-point text of ``value`` keeping its scale ("12.50" stays "12.50"), never exponent notation."""
    return format(value, "f")


def _reject_float(value: Any) -> Any:
    # Floats (and bools, ints to Python) cannot be exact money or quantities: a type error in all modes.
    if isinstance(value, float):
        raise ValueError(f"float {value!r} is not accepted for a decimal: pass a string, int or Decimal")
    if isinstance(value, bool):
        raise ValueError("bool is not accepted for a decimal")
    return value


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


_ExactDecimal = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    Field(allow_inf_nan=False),
    PlainSerializer(decimal_str, return_type=str, when_used="json"),
]

#: A monetary amount in the owning document's ``currency``. JSON: a string keeping the scale ("12.50").
Amount = _ExactDecimal
#: A quantity of units (may be fractional: 1.5 hours); exact like money.
Quantity = _ExactDecimal
#: A tax rate in percent (19 means 19 %).
TaxRate = Annotated[_ExactDecimal, Field(ge=0, le=100)]
#: An ISO-4217 alphabetic currency code, upper case.
CurrencyCode = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_check_currency)]
#: An ISO 3166-1 alpha-2 country code, upper case.
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
#: A timezone-aware datetime; a naive one is rejected: an ERP's local time is ambiguous across systems.
AwareDateTime = Annotated[datetime, AfterValidator(_check_aware)]
