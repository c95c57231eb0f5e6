"""Compile a CSV row plan into one straight-line Python function (the decoder's hot path).

A generic loop over the plan's fields costs a tuple unpack, a few branches and a call per field and row; at a
million rows that is a large share of the decode time. The generated function does the same work with the
column indexes and field names as constants, the way ``dataclasses`` and ``attrs`` generate ``__init__``.
Only names from the compiled mapping reach the source text (as ``repr`` literals); values travel in the
function's namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from translators.mapping.compiled import MISSING, CompiledObject, FieldProblem, finish_object
from translators.mapping.converters import sign_last_only

__all__ = ["compile_row_plan"]

RowFunction = Callable[[list[str]], dict[str, Any]]


def compile_row_plan(plan: Any, finish: CompiledObject | None = None) -> RowFunction:
    """A function ``row -> dict`` equivalent to walking ``plan`` (a ``csv_decoder._Plan``) field by field.

    With ``finish``, the function also does what ``finish_object(out, finish)`` would (constants, defaults,
    required fields), inline.
    """
    env: dict[str, Any] = {"MISSING": MISSING, "FieldProblem": FieldProblem, "finish": finish_object}
    src = ["def extract(row):", "    out = {}", "    width = len(row)"]
    for i, (name, idx, f, fast, conv) in enumerate(plan.scalars):
        key = repr(name)
        src.append(f"    if width > {idx}:")
        if fast:
            src += [f"        t = row[{idx}].strip()", "        if t:"]
            if conv is None:
                src.append(f"            out[{key}] = t")
            else:
                env[f"c{i}"], env[f"d{i}"] = conv, f.dotted
                pad = "            "
                if sign_last_only(conv):  # a plain decimal: its text goes on unless it ends with a sign
                    src += [f"{pad}if t[-1] not in '+-':", f"{pad}    out[{key}] = t", f"{pad}else:"]
                    pad += "    "
                src += [
                    f"{pad}try:",
                    f"{pad}    out[{key}] = c{i}(t)",
                    f"{pad}except ValueError as exc:",
                    f"{pad}    raise FieldProblem(d{i}, str(exc)) from None",
                ]
        else:
            env[f"f{i}"] = f
            src += [
                f"        v = f{i}.value(row[{idx}])",
                "        if v is not MISSING:",
                f"            out[{key}] = v",
            ]
    for i, (name, idxs, f) in enumerate(plan.lists):
        env[f"lf{i}"], env[f"li{i}"] = f, tuple(idxs)
        if f.trim and f.codes is None and f.function is None and f.conv is None:  # plain text columns
            item = f"[x for j in li{i} if j < width and (x := row[j].strip())]"
        else:
            item = f"[x for j in li{i} if j < width and (x := lf{i}.value(row[j])) is not MISSING]"
        src += [f"    v = {item}", "    if v:", f"        out[{name!r}] = v"]
    for kind, entries in (("group", plan.groups), ("rows", plan.row_lists)):
        for i, (f, sub) in enumerate(entries):
            tag = f"{kind[0]}{i}"
            env[f"x{tag}"], env[f"ch{tag}"], env[f"g{tag}"] = compile_row_plan(sub), f.children, f.present_if
            assert f.children is not None
            finished = "sub" if f.children.is_plain else f"finish(sub, ch{tag})"
            target = finished if kind == "group" else f"[{finished}]"
            where = f.name if kind == "group" else f"{f.name}[0]"
            present = "sub" if f.present_if is None else f"sub and g{tag} in sub"  # CompiledField.present
            src += [
                "    try:",
                f"        sub = x{tag}(row)",
                f"        if {present}:",
                f"            out[{f.name!r}] = {target}",
                "    except FieldProblem as exc:",
                f"        raise exc.nested({where!r}) from None",
            ]
    if finish is not None:
        for i, (name, value) in enumerate(finish.consts):
            env[f"k{i}"] = value
            src.append(f"    out[{name!r}] = k{i}")
        for i, (name, value) in enumerate(finish.defaults):
            env[f"df{i}"] = value
            src += [f"    if {name!r} not in out:", f"        out[{name!r}] = df{i}"]
        for name, dotted in finish.required:
            src += [
                f"    if {name!r} not in out:",
                f"        raise FieldProblem({dotted!r}, 'required field is missing')",
            ]
    src.append("    return out")
    exec(compile("\n".join(src), "<csv row plan>", "exec"), env)
    function: RowFunction = env["extract"]
    return function
