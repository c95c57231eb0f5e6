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

from translators.mapping.compiled import MISSING, FieldProblem, finish_object

__all__ = ["compile_row_plan"]

RowFunction = Callable[[list[str]], dict[str, Any]]


def compile_row_plan(plan: Any) -> RowFunction:
    """A function ``row -> dict`` equivalent to walking ``plan`` (a ``csv_decoder._Plan``) field by field."""
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
                src += [
                    "            try:",
                    f"                out[{key}] = c{i}(t)",
                    "            except ValueError as exc:",
                    f"                raise FieldProblem(d{i}, str(exc)) from None",
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
        src += [
            f"    v = [x for j in li{i} if j < width and (x := lf{i}.value(row[j])) is not MISSING]",
            "    if v:",
            f"        out[{name!r}] = v",
        ]
    for kind, entries in (("group", plan.groups), ("rows", plan.row_lists)):
        for i, (f, sub) in enumerate(entries):
            tag = f"{kind[0]}{i}"
            env[f"x{tag}"], env[f"p{tag}"], env[f"ch{tag}"] = compile_row_plan(sub), f.present, f.children
            target = f"finish(sub, ch{tag})" if kind == "group" else f"[finish(sub, ch{tag})]"
            where = f.name if kind == "group" else f"{f.name}[0]"
            src += [
                "    try:",
                f"        sub = x{tag}(row)",
                f"        if p{tag}(sub):",
                f"            out[{f.name!r}] = {target}",
                "    except FieldProblem as exc:",
                f"        raise exc.nested({where!r}) from None",
            ]
    src.append("    return out")
    exec(compile("\n".join(src), "<csv row plan>", "exec"), env)
    function: RowFunction = env["extract"]
    return function
