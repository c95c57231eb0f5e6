"""Text <-> typed value converters built once from a :class:`ConvertSpec` (and reversed for encoders).

A converter raises ``ValueError`` with a message naming the offending text; callers attach the location.
Decimals are built from text with ``Decimal`` and never pass through float. ISO dates and plain decimals are
handed to pydantic as text (it parses them faster than Python code would).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from translators.mapping.spec import ConvertSpec

__all__ = ["SIGN_LAST", "Forward", "Reverse", "forward", "load_hook", "reverse", "sign_last_only"]

#: The last characters that make a plain decimal's text need converting ("12.50-" is SAP's -12.50).
SIGN_LAST = ("-", "+")


def sign_last_only(conv: Forward | None) -> bool:
    """True when ``conv`` returns its text unchanged unless the text ends with one of :data:`SIGN_LAST`."""
    return bool(getattr(conv, "sign_last_only", False))


Forward = Callable[[str], Any]
Reverse = Callable[[Any], str]


def _import(module_name: str, folder: Path | None) -> Any:
    """Import ``module_name`` from the import path, else from ``folder`` (a mapping's own folder).

    A hook module beside its mapping needs no hand-set ``PYTHONPATH``: its top-level package is looked up in
    ``folder`` alone (``PathFinder`` with that one entry) and registered like any import; ``sys.path`` is not
    touched, so nothing else is ever imported from that folder and other threads see no change.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.partition(".")[0]
        if folder is None or exc.name != top:
            raise
        spec = importlib.machinery.PathFinder.find_spec(top, [str(folder)])
        if spec is None or spec.loader is None:
            raise
    module = importlib.util.module_from_spec(spec)
    sys.modules[top] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[top]
        raise
    return importlib.import_module(module_name)


def load_hook(ref: str, folder: Path | None = None) -> Callable[..., Any]:
    """Import ``module:function`` (also from ``folder``, the mapping's own); ``ValueError`` says what is missing."""
    module_name, _, attr = ref.partition(":")
    try:
        module = _import(module_name, folder)
    except ImportError as exc:
        raise ValueError(f"hook {ref!r}: cannot import module {module_name!r}: {exc}") from exc
    function = getattr(module, attr, None)
    if not callable(function):
        raise ValueError(f"hook {ref!r}: module {module_name!r} has no function {attr!r}")
    return cast(Callable[..., Any], function)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _decimal(spec: ConvertSpec) -> Forward:
    sep, thousands, implied, negate = spec.decimal_sep, spec.thousands, spec.implied_decimals, spec.negate
    plain = sep == "." and thousands is None and not implied and not negate

    def convert(text: str) -> Any:
        raw = text
        if thousands:
            text = text.replace(thousands, "")
        if sep != ".":
            if "." in text:
                raise ValueError(f"{raw!r} is not a decimal with separator {sep!r}")
            text = text.replace(sep, ".")
        if text.endswith("-"):  # SAP and many flat files put the sign last: "12.50-"
            text = "-" + text[:-1]
        elif text.endswith("+"):
            text = text[:-1]
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{raw!r} is not a decimal") from None
        if not value.is_finite():
            raise ValueError(f"{raw!r} is not a finite decimal")
        if implied:
            if "." in text:
                raise ValueError(f"{raw!r} has a decimal point but {implied} implied decimals are declared")
            value = value.scaleb(-implied)
        return -value if negate else value

    if plain:

        def convert_plain(text: str) -> Any:
            if text.endswith(SIGN_LAST):
                return convert(text)
            return text  # pydantic builds the Decimal from the text (and rejects what is not one)

        # Tells hot loops they may skip the call when the text does not end with a sign (see SIGN_LAST).
        convert_plain.sign_last_only = True  # type: ignore[attr-defined]
        return convert_plain
    return convert


def _date(spec: ConvertSpec) -> Forward | None:
    fmt = spec.format
    if fmt is None:
        return None  # ISO text: pydantic parses it (and names the field when it is not a date)

    def convert(text: str) -> Any:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            raise ValueError(f"{text!r} does not match date format {fmt!r}") from None

    return convert


def _datetime(spec: ConvertSpec) -> Forward:
    fmt = spec.format
    tz = zone(spec.tz) if spec.tz else None

    def convert(text: str) -> Any:
        try:
            value = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a datetime{' in format ' + repr(fmt) if fmt else ''}") from None
        if value.tzinfo is None:
            if tz is None:
                raise ValueError(f"{text!r} has no UTC offset and the mapping declares no source tz")
            value = value.replace(tzinfo=tz)
        return value

    return convert


def _bool(spec: ConvertSpec) -> Forward:
    table = {v.lower(): True for v in spec.true_values} | {v.lower(): False for v in spec.false_values}

    def convert(text: str) -> Any:
        try:
            return table[text.lower()]
        except KeyError:
            raise ValueError(f"{text!r} is not a boolean (expected one of {', '.join(table)})") from None

    return convert


def _int(spec: ConvertSpec) -> Forward:
    def convert(text: str) -> Any:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None

    return convert


def forward(spec: ConvertSpec) -> Forward | None:
    """The text -> value converter, or ``None`` when the text is used as it is (after trimming)."""
    kind = spec.type
    if kind == "str":
        return None
    if kind == "decimal":
        return _decimal(spec)
    if kind == "date":
        return _date(spec)
    if kind == "datetime":
        return _datetime(spec)
    if kind == "bool":
        return _bool(spec)
    return _int(spec)


def _decimal_text(spec: ConvertSpec) -> Reverse:
    sep, implied, negate = spec.decimal_sep, spec.implied_decimals, spec.negate

    def render(value: Any) -> str:
        number = Decimal(value) if not isinstance(value, Decimal) else value
        if negate:
            number = -number
        if implied:
            scaled = number.scaleb(implied)
            if scaled != scaled.to_integral_value():
                raise ValueError(f"{number} has more than {implied} decimals")
            return format(scaled.quantize(Decimal(1)), "f")
        text = format(number, "f")
        return text.replace(".", sep) if sep != "." else text

    return render


def reverse(spec: ConvertSpec) -> Reverse:
    """The value -> text converter used by encoders (the inverse of :func:`forward`)."""
    kind = spec.type
    if kind == "decimal":
        return _decimal_text(spec)
    if kind == "date":
        fmt = spec.format

        def render_date(value: Any) -> str:
            d = value if isinstance(value, date) else date.fromisoformat(str(value))
            return d.strftime(fmt) if fmt else d.isoformat()

        return render_date
    if kind == "datetime":
        fmt, tz = spec.format, (zone(spec.tz) if spec.tz else None)

        def render_datetime(value: Any) -> str:
            dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            if fmt:
                if tz is not None:
                    dt = dt.astimezone(tz)
                return dt.strftime(fmt)
            return dt.isoformat()

        return render_datetime
    if kind == "bool":
        yes, no = spec.true_values[0], spec.false_values[0]
        return lambda value: yes if value else no
    return str
