"""Every enterprise × every policy in force as one Ibis expression (DuckDB or PySpark).

:func:`policy_rows` compiles one policy over the warehouse tables into rows of (enterprise,
entity — the enterprise itself, one of its projects or loans), eligibility (three-valued), the
amount (formula, floor, cap, cap per enterprise) and trace slots: the value every condition took,
the values of the references it read and, for a comparison, its two sides (for the gap of an
"almost"). :func:`evaluate` unions the policies, applies the stacking rule (one benefit per
stacking group and enterprise/project/loan: the highest; ties by policy id) with a window, and
executes the whole once; :func:`decode` turns the slots back into a readable trace.

Warehouse inputs (Ibis tables by name): ``enterprises``, ``scales``, ``facts`` (snapshot),
``tax_types`` (enterprise_id, year, tax_type, value), ``loans`` (loan_id, enterprise_id, bank,
amount, rate, start_date, end_date, interest_paid), and the services' result tables
``result_<namespace>``. A namespace whose result table is not in the inputs (tier, maturity
today) reads as *unknown*.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from lark import Token, Tree

from industry_brain.core.errors import Location
from industry_brain.domains.policy.definitions import Policy, PolicyError, region_prefix
from industry_brain.warehouse.engines import computed_once

#: taxes.<field> → the tax bureau's tax type (Fact.detail of item tax_paid).
TAX_TYPES = {"land_use_tax": "城镇土地使用税", "property_tax": "房产税", "vat": "增值税"}
#: result-table namespaces read by (year, enterprise_id).
RESULT_NS = {
    "mujun": "result_mujun",
    "carbon": "result_carbon",
    "tier": "result_tiers",
    "maturity": "result_maturity",
}
TARGET_TABLE = {"project": ("result_projects", "project_id"), "loan": ("loans", "loan_id")}
LOAN_SCHEMA = {
    "loan_id": "int64",
    "enterprise_id": "int64",
    "bank": "string",
    "amount": "float64",
    "rate": "float64",
    "start_date": "date",
    "end_date": "date",
    "interest_paid": "float64",
    "purpose": "string",
}
TAX_SCHEMA = {"enterprise_id": "int64", "year": "int64", "tax_type": "string", "value": "float64"}


class Unknown:
    """A value nobody publishes yet (a result table not in the warehouse): always unknown."""


UNKNOWN = Unknown()


@dataclass
class Layout:
    """Where one policy's trace values sit in the shared slot columns."""

    conditions: list[str] = field(default_factory=list)  # condition ids, slot c<i>
    numbers: list[str] = field(default_factory=list)  # refs and comparison sides, slot n<i>
    strings: list[str] = field(default_factory=list)  # refs, slot s<i>
    kinds: dict[str, str] = field(default_factory=dict)  # ref → bool|number|string|unknown
    sides: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # cond id → (op, l, r)
    params: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # group → resolved


@dataclass
class Compiled:
    policy: Policy
    table: ir.Table
    layout: Layout
    #: the cached row tables it reads (a cached table lives as long as its expression object)
    held: list[ir.Table] = field(default_factory=list)


def _lit_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, date):
        return "date"
    return "string"


class _Compiler:
    """Compiles parsed trees over one row table with one set of parameter values."""

    def __init__(
        self,
        row: ir.Table,
        values: dict[str, Any],
        year: int,
        file: str,
        columns: frozenset[str] = frozenset(),
        hoisted: dict[int, str] | None = None,
        bits: dict[int, str | None] | None = None,
    ) -> None:
        self.row = row
        self.values = values
        self.year = year
        self.file = file
        #: parameters read from the row's ``p__<name>`` column (policies sharing one shape)
        self.columns = columns
        #: subtrees (by node id) computed once per entity before the parameter join: their column
        self.hoisted = hoisted or {}
        #: ``x in param.list`` nodes whose list is a bit mask column: the column of x's bit
        #: (``None``: x is unknown)
        self.bits = bits or {}

    def fail(self, key: str, message: str) -> PolicyError:
        return PolicyError(
            "policy.compile",
            f"政策文件 {self.file} 的 {key}：{message}",
            f"policy file {self.file}, {key}: {message}",
            Location(file=self.file, field=key),
        )

    def expr(self, node: Any, key: str) -> Any:
        if isinstance(node, Token):
            raise self.fail(key, f"unexpected token {node}")
        hoisted = self.hoisted.get(id(node))
        if hoisted is not None:
            return self.row[hoisted]
        kind = node.data
        ch = node.children
        if kind in ("in_", "not_in") and id(node) in self.bits:
            bit = self.bits[id(node)]
            if bit is None:
                return ibis.null("boolean")
            # the row's bit within the policy's mask: unknown when the value is (NULL bit)
            out = (self.row[f"p__{ch[1].children[1]}"] & self.row[bit]) != 0
            return ~out if kind == "not_in" else out
        if kind == "group":
            return self.expr(ch[0], key)
        if kind == "number":
            text = str(ch[0])
            return (
                ibis.literal(float(text))
                if any(c in text for c in ".eE")
                else ibis.literal(int(text))
            )
        if kind == "string":
            return ibis.literal(str(ch[0])[1:-1])
        if kind in ("true", "false"):
            return ibis.literal(kind == "true")
        if kind == "null":
            return UNKNOWN
        if kind == "list":
            return [self._plain(self.expr(c, key), key) for c in ch if c is not None]
        if kind == "ref":
            ns, name = str(ch[0]), str(ch[1])
            if ns == "param":
                if name in self.columns:
                    return self.row[f"p__{name}"]
                return self._param(self.values[name])
            if ns == "period":
                return self._period(name, key)
            col = f"{ns}__{name}"
            if col in self.row.columns:
                return self.row[col]
            return UNKNOWN
        if kind == "neg":
            v = self.expr(ch[0], key)
            return UNKNOWN if isinstance(v, Unknown) else -v
        if kind == "arith":
            a, op, b = self.expr(ch[0], key), str(ch[1]), self.expr(ch[2], key)
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                return ibis.null("float64")
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
        if kind == "compare":
            a, op, b = self.expr(ch[0], key), str(ch[1]), self.expr(ch[2], key)
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                return ibis.null("boolean")
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[
                op
            ]
        if kind in ("in_", "not_in"):
            a, b = self.expr(ch[0], key), self.expr(ch[1], key)
            if isinstance(b, ir.ArrayValue):  # a list parameter shared as a column
                if isinstance(a, Unknown):
                    return ibis.null("boolean")
                out = ibis.ifelse(a.isnull(), ibis.null("boolean"), b.contains(a))
                return ~out if kind == "not_in" else out
            if not isinstance(b, list):
                raise self.fail(key, "the right side of 'in' must be a list")
            if isinstance(a, Unknown):
                return ibis.null("boolean")
            out = a.isin(b) if b else ibis.literal(False)
            return ~out if kind == "not_in" else out
        if kind in ("and_", "or_"):
            a, b = self._bool(self.expr(ch[0], key)), self._bool(self.expr(ch[1], key))
            return a & b if kind == "and_" else a | b
        if kind == "not_":
            return ~self._bool(self.expr(ch[0], key))
        if kind == "call":
            return self._call(str(ch[0]), [c for c in ch[1:] if c is not None], key)
        raise self.fail(key, f"unsupported expression {kind}")

    # -- helpers ---------------------------------------------------------------------------
    def _bool(self, v: Any) -> Any:
        return ibis.null("boolean") if isinstance(v, Unknown) else v

    def _plain(self, v: Any, key: str) -> Any:
        """A literal's Python value (lists hold plain values)."""
        if isinstance(v, ir.Scalar):
            try:
                return v.op().value
            except AttributeError:
                pass
        raise self.fail(key, "a list may hold only literals")

    def _param(self, value: Any) -> Any:
        if isinstance(value, dict):
            return dict(value)
        if isinstance(value, list):
            return list(value)
        if value is None:
            return UNKNOWN
        return ibis.literal(value)

    def _period(self, name: str, key: str) -> Any:
        if name == "year":
            return ibis.literal(self.year)
        if name == "start":
            return ibis.literal(date(self.year, 1, 1))
        if name == "end":
            return ibis.literal(date(self.year + 1, 1, 1))
        raise self.fail(key, f"period has year, start and end, not {name}")

    def _num(self, v: Any) -> Any:
        return ibis.null("float64") if isinstance(v, Unknown) else v

    def _call(self, name: str, nodes: list[Any], key: str) -> Any:
        if name == "keys":
            m = self.expr(nodes[0], key)
            if not isinstance(m, dict):
                raise self.fail(key, "keys() takes a mapping parameter")
            return list(m)
        if name == "lookup":
            m, k = self.expr(nodes[0], key), self.expr(nodes[1], key)
            if not isinstance(m, dict):
                raise self.fail(key, "lookup() takes a mapping parameter first")
            if isinstance(k, Unknown) or not m:
                return ibis.null("float64")
            return ibis.cases(*[(k == kk, ibis.literal(v)) for kk, v in m.items()], else_=None)
        if name == "band":
            bands, x = self.expr(nodes[0], key), self.expr(nodes[1], key)
            if not isinstance(bands, list) or not all(
                isinstance(b, list) and len(b) == 2 for b in bands
            ):
                raise self.fail(key, "band() takes a list of [floor, value] pairs first")
            if isinstance(x, Unknown):
                return ibis.null("float64")
            ordered = sorted(bands, key=lambda b: b[0], reverse=True)
            return ibis.cases(
                *[(x >= ibis.literal(float(f)), ibis.literal(float(v))) for f, v in ordered],
                else_=None,
            )
        args = [self.expr(n, key) for n in nodes]
        if name in ("min", "max"):
            if any(isinstance(a, Unknown) for a in args):
                return ibis.null("float64")
            out = ibis.least(*args) if name == "min" else ibis.greatest(*args)
            # SQL least/greatest skip unknown arguments; a formula must not: unknown stays unknown
            known = args[0].notnull()
            for a in args[1:]:
                known = known & a.notnull()
            return ibis.ifelse(known, out, ibis.null("float64"))
        if name == "if":
            c, a, b = self._bool(args[0]), args[1], args[2]
            if isinstance(a, Unknown) and isinstance(b, Unknown):
                return UNKNOWN
            typ = (b if isinstance(a, Unknown) else a).type()
            a = ibis.null(typ) if isinstance(a, Unknown) else a
            b = ibis.null(typ) if isinstance(b, Unknown) else b
            return ibis.cases((c, a), (~c, b), else_=None)
        if name == "coalesce":
            known = [a for a in args if not isinstance(a, Unknown)]
            return ibis.coalesce(*known) if len(known) > 1 else known[0] if known else UNKNOWN
        if name == "known":
            return ibis.literal(False) if isinstance(args[0], Unknown) else args[0].notnull()
        if name == "prefix_in":
            code, codes = args
            if not isinstance(codes, list):
                raise self.fail(key, "prefix_in() takes a list second")
            if isinstance(code, Unknown):
                return ibis.null("boolean")
            out = ibis.literal(False)
            for c in codes:
                out = out | code.startswith(str(c))
            return ibis.ifelse(code.isnull(), ibis.null("boolean"), out)
        if name == "clip":
            x, lo, hi = (self._num(a) for a in args)
            return ibis.ifelse(
                x.isnull(), ibis.null("float64"), ibis.least(ibis.greatest(x, lo), hi)
            )
        if name == "days_in_period":
            s, e = args
            if isinstance(s, Unknown) or isinstance(e, Unknown):
                return ibis.null("float64")
            start = ibis.greatest(s, ibis.literal(date(self.year, 1, 1)))
            end = ibis.least(e, ibis.literal(date(self.year + 1, 1, 1)))
            days = end.delta(start, unit="day").cast("float64")
            return ibis.ifelse(days > 0, days, ibis.literal(0.0))
        raise self.fail(key, f"unknown function {name}")


def _rows(policy: Policy, inputs: dict[str, ir.Table], year: int) -> ir.Table:
    """The row table of a policy: one row per target entity with ``ns__field`` columns.
    Policies with the same target, region and references share one table (one expression,
    computed once by the engine)."""
    refs = {r for p in policy.exprs.values() for r in p.refs}
    cache = inputs.get("__rows_cache__")
    wide = inputs.get("__rows_refs__")
    if isinstance(wide, dict):  # every policy of the target and region reads one table
        refs = wide.get((policy.spec.target, policy.spec.region), refs)
    key = (policy.spec.target, policy.spec.region, year, frozenset(refs))
    if isinstance(cache, dict) and key in cache:
        return cache[key]
    row = _build_rows(policy, inputs, year, refs)
    # Spark: computed once (a persisted frame), read by every policy. DuckDB: a table read by
    # several policies' expressions is one CTE of the query, materialized once
    row = computed_once(inputs.get("__materialize__"), row)
    if isinstance(cache, dict):
        cache[key] = row
    return row


def _build_rows(policy: Policy, inputs: dict[str, ir.Table], year: int, refs: set[str]) -> ir.Table:
    by_ns: dict[str, set[str]] = {}
    for r in refs:
        ns, name = r.split(".")
        by_ns.setdefault(ns, set()).add(name)
    ents = inputs["enterprises"]
    if policy.spec.region:
        ents = ents.filter(ents.county_code.startswith(region_prefix(policy.spec.region)))
    base_cols: dict[str, Any] = {
        "enterprise_id": ents.enterprise_id,
        "county_code": ents.county_code,
    }
    for name in sorted(by_ns.get("enterprise", set()) - {"above_scale"}):
        if name not in ents.columns:
            raise _unknown_field(policy, "enterprise", name)
        base_cols[f"enterprise__{name}"] = ents[name]
    row = ents.select(**base_cols)
    if "above_scale" in by_ns.get("enterprise", set()):
        sc = inputs["scales"]
        sc = sc.filter(sc.year == year).select(
            "enterprise_id", enterprise__above_scale=sc.above_scale
        )
        row = row.left_join(sc, ["enterprise_id"]).select(row, "enterprise__above_scale")
    target = policy.spec.target
    if target in TARGET_TABLE:
        tname, key = TARGET_TABLE[target]
        t = inputs[tname]
        if target == "project":
            t = t.filter(t.enterprise_id.notnull())
        cols = {key: t[key], "enterprise_id": t.enterprise_id}
        for name in sorted(by_ns.get(target, set())):
            if name not in t.columns:
                raise _unknown_field(policy, target, name)
            cols[f"{target}__{name}"] = t[name]
        tt = t.select(**cols)
        row = row.inner_join(tt, ["enterprise_id"]).select(
            row, *[c for c in tt.columns if c != "enterprise_id"]
        )
        row = row.mutate(entity=ibis.literal(f"{target}:") + row[key].cast("string")).drop(key)
    else:
        row = row.mutate(entity=ibis.literal(""))
    if by_ns.get("facts"):
        f = inputs["facts"]
        f = f.filter((f.year == year) & f.item.isin(sorted(by_ns["facts"])))
        piv = f.group_by("enterprise_id").aggregate(
            **{f"facts__{n}": f.value.sum(where=f.item == n) for n in sorted(by_ns["facts"])}
        )
        row = row.left_join(piv, ["enterprise_id"]).select(
            row, *[c for c in piv.columns if c != "enterprise_id"]
        )
    if by_ns.get("taxes"):
        unknown = by_ns["taxes"] - set(TAX_TYPES)
        if unknown:
            raise _unknown_field(policy, "taxes", sorted(unknown)[0])
        t = inputs["tax_types"]
        t = t.filter(t.year == year)
        piv = t.group_by("enterprise_id").aggregate(
            **{
                f"taxes__{n}": t.value.sum(where=t.tax_type == TAX_TYPES[n])
                for n in sorted(by_ns["taxes"])
            }
        )
        row = row.left_join(piv, ["enterprise_id"]).select(
            row, *[c for c in piv.columns if c != "enterprise_id"]
        )
    for ns, table in RESULT_NS.items():
        names = by_ns.get(ns)
        if not names or table not in inputs:
            continue  # not published: the references read as unknown
        r = inputs[table]
        for name in names:
            if name not in r.columns:
                raise _unknown_field(policy, ns, name)
        if "year" in r.columns:
            r = r.filter(r.year == year)
        r = r.select("enterprise_id", **{f"{ns}__{n}": r[n] for n in sorted(names)})
        row = row.left_join(r, ["enterprise_id"]).select(
            row, *[c for c in r.columns if c != "enterprise_id"]
        )
    return row


def _unknown_field(policy: Policy, ns: str, name: str) -> PolicyError:
    return PolicyError(
        "policy.unknown_field",
        f"政策文件 {policy.file}：{ns} 没有字段 {name}",
        f"policy file {policy.file}: {ns} has no field '{name}'",
        Location(file=policy.file, field=f"{ns}.{name}"),
    )


def _param_groups(
    policy: Policy, counties: list[str], on: date
) -> list[tuple[list[str], dict[str, Any], list[dict[str, Any]]]]:
    """Counties grouped by the values of the policy's parameters on ``on``."""
    names = sorted(policy.params)
    groups: dict[str, tuple[list[str], dict[str, Any], list[dict[str, Any]]]] = {}
    for county in counties or [""]:
        resolved = [policy.resolve(n, county or None, on) for n in names]
        values = {n: r.value for n, r in zip(names, resolved, strict=True)}
        k = json.dumps(values, sort_keys=True, default=str)
        if k not in groups:
            trace = [{"name": n, **r.to_dict()} for n, r in zip(names, resolved, strict=True)]
            groups[k] = ([], values, trace)
        groups[k][0].append(county)
    return list(groups.values())


SLOT_TYPES = {"c": "boolean", "n": "float64", "s": "string"}
FIXED = {
    "policy": "string",
    "policy_no": "int64",
    "enterprise_id": "int64",
    "entity": "string",
    "county_code": "string",
    "eligible": "boolean",
    "amount_formula": "float64",
    "amount_floor": "float64",
    "amount_cap": "float64",
    "amount": "float64",
    "cap_firm": "float64",
    "rank_by": "float64",
    "stack_group": "string",
    "param_group": "int64",
}


def policy_rows(
    policy: Policy,
    inputs: dict[str, ir.Table],
    year: int,
    on: date,
    counties: list[str],
    slots: dict[str, int],
) -> Compiled:
    """One policy compiled over the inputs for data ``year`` with parameters on ``on``."""
    row = _rows(policy, inputs, year)
    prefix = region_prefix(policy.spec.region) if policy.spec.region else ""
    groups = _param_groups(policy, [c for c in counties if c.startswith(prefix)], on)
    return _compile(policy, row, groups, year, slots)[0]


def _compile(
    policy: Policy,
    row: ir.Table,
    groups: list[tuple[list[str], dict[str, Any], list[dict[str, Any]]]],
    year: int,
    slots: dict[str, int],
    members: list[tuple[Policy, dict[str, Any], list[dict[str, Any]]]] | None = None,
    columns: frozenset[str] = frozenset(),
    numbers: dict[str, int] | None = None,
    trace: bool = True,
) -> list[Compiled]:
    """``policy`` compiled over ``row`` — or, with ``members`` (policies of one shape, see
    :func:`_shape_key`), one expression for all of them: the row table crossed with a small
    table of the members' ids and their ``columns`` parameters (``p__<name>``), so that 50
    policies differing only in their numbers compile and run as one."""
    hoisted: dict[int, str] = {}
    bits: dict[int, str | None] = {}
    if members:
        masks = _mask_universes(policy, members, columns)
        pre = _hoist(policy, row, groups[0][1], year, columns, masks, hoisted, bits)
        ptab = _param_table(members, columns, numbers or {}, masks)
        row = pre.mutate(p__shape=ibis.literal(0, type="int64")).inner_join(ptab, "p__shape")
    layout = Layout(params={str(i): g[2] for i, g in enumerate(groups)})

    def each(fn: Any) -> Any:
        """``fn(compiler)`` per parameter group, chosen by the row's county."""
        outs = [fn(_Compiler(row, g[1], year, policy.file, columns, hoisted, bits)) for g in groups]
        if len(outs) == 1:
            return outs[0]
        if any(isinstance(o, Unknown) for o in outs):
            return UNKNOWN
        return ibis.cases(
            *[(row.county_code.isin(g[0]), o) for g, o in zip(groups, outs, strict=True)],
            else_=None,
        )

    def compile_key(key: str) -> Any:
        return each(lambda c: c.expr(policy.exprs[key].tree, key))

    conds = []
    cols: dict[str, Any] = {}
    for i, cond in enumerate(policy.spec.conditions):
        key = f"conditions[{i}].when"
        v = compile_key(key)
        v = ibis.null("boolean") if isinstance(v, Unknown) else v
        if not v.type().is_boolean():
            raise PolicyError(
                "policy.not_boolean",
                f"政策文件 {policy.file} 的 {key} 不是条件（真/假）",
                f"policy file {policy.file}, {key} is not a condition (true/false)",
                Location(file=policy.file, field=key),
            )
        conds.append(v)
        layout.conditions.append(cond.id)
        cols[f"c{len(layout.conditions) - 1}"] = v
        tree = policy.exprs[key].tree
        if trace and tree.data == "compare":
            sides = [
                each(lambda c, t=t, k=key: c.expr(t, k))
                for t in (tree.children[0], tree.children[2])
            ]
            if all(not isinstance(s, Unknown) and s.type().is_numeric() for s in sides):
                for side_name, s in zip(("l", "r"), sides, strict=True):
                    layout.numbers.append(f"{cond.id}:{side_name}")
                    cols[f"n{len(layout.numbers) - 1}"] = s.cast("float64")
                layout.sides[cond.id] = (str(tree.children[1]), f"{cond.id}:l", f"{cond.id}:r")
                if cond.gap_scale:
                    scale_key = f"conditions[{i}].gap_scale"
                    scale = each(lambda c, k=scale_key: c.expr(policy.exprs[k].tree, k))
                    if not isinstance(scale, Unknown):
                        layout.numbers.append(f"{cond.id}:scale")
                        cols[f"n{len(layout.numbers) - 1}"] = scale.cast("float64")
    eligible = conds[0]
    for c in conds[1:]:
        eligible = eligible & c
    refs = sorted(
        {
            r
            for p in policy.exprs.values()
            for r in p.refs
            if r.split(".")[0] not in ("param", "period")
        }
    )
    for ref in refs if trace else ():
        col = ref.replace(".", "__")
        if col not in row.columns:
            layout.kinds[ref] = "unknown"
            continue
        typ = row[col].type()
        if typ.is_boolean() or typ.is_numeric():
            layout.kinds[ref] = "bool" if typ.is_boolean() else "number"
            layout.numbers.append(ref)
            cols[f"n{len(layout.numbers) - 1}"] = row[col].cast("float64")
        else:
            layout.kinds[ref] = "string"
            layout.strings.append(ref)
            cols[f"s{len(layout.strings) - 1}"] = row[col].cast("string")

    def num(key: str) -> Any:
        if key not in policy.exprs:
            return ibis.null("float64")
        v = compile_key(key)
        return ibis.null("float64") if isinstance(v, Unknown) else v.cast("float64")

    formula, floor, cap = num("amount.formula"), num("amount.floor"), num("amount.cap")
    amount = formula
    if "amount.floor" in policy.exprs:  # no floor, no cap: nothing to compare with
        amount = ibis.ifelse(floor.notnull() & (amount < floor), floor, amount)
    if "amount.cap" in policy.exprs:
        amount = ibis.ifelse(cap.notnull() & (amount > cap), cap, amount)
    amount = ibis.ifelse(eligible.fill_null(False), amount, ibis.null("float64"))
    cap_firm = num("amount.cap_per_enterprise")
    sign = -1.0 if policy.spec.kind == "charge" else 1.0
    group_ids = (
        ibis.cases(*[(row.county_code.isin(g[0]), i) for i, g in enumerate(groups)], else_=0)
        if len(groups) > 1
        else ibis.literal(0)
    )
    out = row.select(
        policy=row.policy if members else ibis.literal(policy.id),
        policy_no=row.p__no if members else ibis.literal((numbers or {}).get(policy.id, 0)),
        enterprise_id=row.enterprise_id,
        entity=row.entity,
        county_code=row.county_code,
        eligible=eligible,
        amount_formula=formula,
        amount_floor=floor,
        amount_cap=cap,
        amount=amount,
        cap_firm=cap_firm,
        rank_by=num("rationing.by"),
        stack_group=ibis.literal(
            policy.spec.stacking.group if policy.spec.stacking else None, type="string"
        ),
        param_group=group_ids,
        **(cols if trace else {}),
    )
    if policy.spec.amount.cap_per_enterprise:
        total = out.amount.sum().over(group_by=["policy_no", "enterprise_id"])
        out = out.mutate(
            amount=ibis.ifelse(
                out.cap_firm.notnull() & (total > out.cap_firm),
                out.amount * out.cap_firm / total,
                out.amount,
            )
        )
    if sign < 0:
        out = out.mutate(amount=out.amount * sign)
    for prefix_, count in slots.items():
        used = {c for c in out.columns if c[0] == prefix_ and c[1:].isdigit()}
        out = out.mutate(
            **{
                f"{prefix_}{i}": ibis.null(SLOT_TYPES[prefix_])
                for i in range(count)
                if f"{prefix_}{i}" not in used
            }
        )
    ordered = list(FIXED) + [f"{p}{i}" for p, n in slots.items() for i in range(n)]
    out = out.select(*[out[c].cast(FIXED.get(c) or SLOT_TYPES[c[0]]).name(c) for c in ordered])
    if not members:
        return [Compiled(policy, out, layout)]
    return [Compiled(m, out, replace(layout, params={"0": trace})) for m, _values, trace in members]


#: node kinds worth computing once per entity (references and literals are already columns)
_COMPOUND = frozenset(("arith", "neg", "compare", "in_", "not_in", "and_", "or_", "not_", "call"))
#: at most this many distinct values in a list parameter read as a bit mask (bit 0 is "none")
MASK_VALUES = 62


def _param_ref(node: Any) -> str | None:
    """The parameter name of a ``param.<name>`` reference node."""
    if isinstance(node, Tree) and node.data == "ref" and str(node.children[0]) == "param":
        return str(node.children[1])
    return None


def _row_only(node: Any, columns: frozenset[str]) -> bool:
    """Whether a subtree reads no parameter column (its value is the entity's alone)."""
    if not isinstance(node, Tree):
        return True
    return not any(_param_ref(sub) in columns for sub in node.iter_subtrees())


def _mask_universes(
    policy: Policy,
    members: list[tuple[Policy, dict[str, Any], list[dict[str, Any]]]],
    columns: frozenset[str],
) -> dict[str, dict[Any, int]]:
    """List parameters of a shape read only as ``x in param.list`` with ``x`` the entity's
    own value: each member's list becomes a bit mask over the values of all the members' lists
    (value → bit), so that the test per (entity, policy) is an integer AND, not a list scan."""
    listed = {n for n in columns if isinstance(members[0][1][n], list)}
    universes: dict[str, dict[Any, int]] = {}
    for name in sorted(listed):
        values = sorted({x for _, v, _ in members for x in v[name]}, key=repr)
        if 0 < len(values) <= MASK_VALUES:
            universes[name] = {v: i + 1 for i, v in enumerate(values)}
    for parsed in policy.exprs.values():
        for node in parsed.tree.iter_subtrees():
            if node.data in ("in_", "not_in"):
                name = _param_ref(node.children[1])
                if name in universes and not _row_only(node.children[0], columns):
                    del universes[name]
    return universes


def _hoist(
    policy: Policy,
    row: ir.Table,
    values: dict[str, Any],
    year: int,
    columns: frozenset[str],
    masks: dict[str, dict[Any, int]],
    hoisted: dict[int, str],
    bits: dict[int, str | None],
) -> ir.Table:
    """``row`` with the policy's subtrees that read no parameter column computed as columns
    (``hoist__<i>``), once per entity before it is crossed with the policies of its shape —
    the per-(entity, policy) expression then only combines them with the parameters. Fills
    ``hoisted`` (node id → column) and ``bits`` (``in`` node id → the column of the value's bit
    in the mask of ``masks``)."""
    compiler = _Compiler(row, values, year, policy.file, columns)
    cols: dict[str, Any] = {}

    def visit(node: Any, key: str) -> None:
        if not isinstance(node, Tree):
            return
        if node.data in ("in_", "not_in") and _param_ref(node.children[1]) in masks:
            universe = masks[_param_ref(node.children[1])]  # type: ignore[index]
            x = compiler.expr(node.children[0], key)
            if isinstance(x, Unknown):
                bits[id(node)] = None
                return
            bit = ibis.cases(
                *[
                    (x == ibis.literal(v), ibis.literal(1 << i, "int64"))
                    for v, i in universe.items()
                ],
                else_=ibis.literal(0, "int64"),
            )
            name = f"hoist__{len(cols)}"
            cols[name] = ibis.ifelse(x.isnull(), ibis.null("int64"), bit)
            bits[id(node)] = name
            return
        if node.data in _COMPOUND and _row_only(node, columns):
            v = compiler.expr(node, key)
            if isinstance(v, ir.Column):
                name = f"hoist__{len(cols)}"
                cols[name] = v
                hoisted[id(node)] = name
            return
        for child in node.children:
            visit(child, key)

    for key, parsed in policy.exprs.items():
        visit(parsed.tree, key)
    return row.mutate(**cols) if cols else row


def _param_table(
    members: list[tuple[Policy, dict[str, Any], list[dict[str, Any]]]],
    columns: frozenset[str],
    numbers: dict[str, int],
    masks: dict[str, dict[Any, int]] | None = None,
) -> ir.Table:
    schema: dict[str, str] = {"policy": "string", "p__no": "int64", "p__shape": "int64"}
    data: dict[str, list[Any]] = {
        "policy": [m.id for m, _, _ in members],
        "p__no": [numbers.get(m.id, 0) for m, _, _ in members],
        "p__shape": [0] * len(members),
    }
    types = {
        "bool": "boolean",
        "number": "float64",
        "date": "date",
        "string": "string",
        "list:string": "array<string>",
        "list:number": "array<float64>",
    }
    for name in sorted(columns):
        values = [v[name] for _, v, _ in members]
        if masks and name in masks:
            schema[f"p__{name}"] = "int64"
            data[f"p__{name}"] = [sum(1 << masks[name][x] for x in set(v)) for v in values]
            continue
        kind = _param_kind(members[0][1][name], True) or "string"
        schema[f"p__{name}"] = types[kind]
        if kind == "number":
            values = [float(v) for v in values]
        elif kind == "list:number":
            values = [[float(x) for x in v] for v in values]
        data[f"p__{name}"] = values
    return ibis.memtable(pd.DataFrame(data), schema=schema)


def _param_kind(value: Any, listable: bool = False) -> str | None:
    """The column kind of a parameter value (``None``: stays a literal of the expression); a
    list of strings or of numbers only when ``listable`` (read only as ``x in param.list``)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        return "string"
    if listable and isinstance(value, list) and value:
        if all(isinstance(x, str) for x in value):
            return "list:string"
        if all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
            return "list:number"
    return None


def _in_only_params(policy: Policy) -> set[str]:
    """Parameters read only as the list of ``x in param.list`` / ``x not in param.list``
    (a list column then: ``contains``)."""
    right: set[int] = set()
    seen: dict[str, list[int]] = {}
    for parsed in policy.exprs.values():
        for node in parsed.tree.iter_subtrees():
            if node.data in ("in_", "not_in"):
                right.add(id(node.children[1]))
            if node.data == "ref" and str(node.children[0]) == "param":
                seen.setdefault(str(node.children[1]), []).append(id(node))
    return {n for n, ids in seen.items() if all(i in right for i in ids)}


def _listed_params(policy: Policy) -> set[str]:
    """Parameters written inside a list literal (the list must hold plain values)."""
    out: set[str] = set()
    for parsed in policy.exprs.values():
        for node in parsed.tree.iter_subtrees():
            if node.data != "list":
                continue
            for sub in node.iter_subtrees():
                if sub.data == "ref" and str(sub.children[0]) == "param":
                    out.add(str(sub.children[1]))
    return out


def _shape_key(
    policy: Policy, groups: list[tuple[list[str], dict[str, Any], list[dict[str, Any]]]]
) -> tuple[str, frozenset[str]] | None:
    """What must be equal for two policies to share one compiled expression: everything but
    their scalar parameters' values (which become columns). ``None``: compiled alone (its
    parameters differ by county)."""
    if len(groups) != 1:
        return None
    values = groups[0][1]
    listed = _listed_params(policy)
    in_only = _in_only_params(policy)
    kinds = {n: _param_kind(v, n in in_only) for n, v in values.items() if n not in listed}
    columns = frozenset(n for n, k in kinds.items() if k is not None)
    spec = policy.spec
    key = {
        "target": spec.target,
        "region": spec.region,
        "kind": spec.kind,
        "stack": spec.stacking.group if spec.stacking else None,
        "cap_firm": bool(spec.amount.cap_per_enterprise),
        "conditions": [(c.id, bool(c.gap_scale)) for c in spec.conditions],
        "exprs": {k: v.text for k, v in sorted(policy.exprs.items())},
        "columns": {n: kinds[n] for n in sorted(columns)},
        "literals": {n: v for n, v in sorted(values.items()) if n not in columns},
    }
    return json.dumps(key, sort_keys=True, default=str), columns


def slot_counts(policies: list[Policy]) -> dict[str, int]:
    """Slots for the widest policy (conditions, numbers incl. comparison sides, strings)."""
    c = max((len(p.spec.conditions) for p in policies), default=0)
    refs = max(
        (
            sum(
                1
                for r in {r for e in p.exprs.values() for r in e.refs}
                if r.split(".")[0] not in ("param", "period")
            )
            for p in policies
        ),
        default=0,
    )
    n = max((3 * len(p.spec.conditions) for p in policies), default=0) + refs
    return {"c": max(c, 1), "n": max(n, 1), "s": max(refs, 1)}


def evaluate_expr(
    compiled: list[Compiled],
    keep: str = "candidates",
    enterprise_id: int | None = None,
    numbered: bool = False,
) -> ir.Table:
    """The union of the policies with the stacking decision, as one expression.

    ``keep``: ``candidates`` (eligible or unknown rows only — the batch), ``eligible`` (eligible
    rows only, stacked ones included: who is paid, without the batch's unknowns) or ``all``.
    ``numbered`` (policies from :func:`compile_all`, which numbers them): the policy travels
    as its number only (``policy_no``, the rank of its id) — millions of id strings cost the
    query and their conversion to Python more than the rest of a row; :func:`named` puts the
    ids back as a categorical column."""
    tables = list({id(c.table): c.table for c in compiled}.values())
    union = tables[0]
    if len(tables) > 1:
        union = ibis.union(*tables, distinct=False)
    if enterprise_id is not None:
        union = union.filter(union.enterprise_id == enterprise_id)
    if any(c.policy.spec.stacking for c in compiled):
        ok = union.eligible.fill_null(False)
        rn = ibis.row_number().over(
            group_by=[union.stack_group, union.enterprise_id, union.entity],
            order_by=[
                ibis.desc(ok.cast("int64")),
                ibis.desc(union.amount.abs().fill_null(0.0)),
                union.policy_no,  # the rank of the policy's id: the same order as the id
            ],
        )
        union = union.mutate(stacked=union.stack_group.notnull() & ok & (rn > 0))
    else:  # no stacking group: no window over every row
        union = union.mutate(stacked=ibis.literal(False))
    if keep == "candidates":
        union = union.filter(union.eligible.fill_null(True))
    elif keep == "eligible":
        union = union.filter(union.eligible)
    # unordered: 6 million rows sort in the caller only when it needs them in order
    # (:func:`order`), so the batch's sort is not paid by every consumer of the expression
    return union.drop("policy") if numbered else union


def named(frame: pd.DataFrame, compiled: list[Compiled]) -> pd.DataFrame:
    """An executed ``numbered`` :func:`evaluate_expr` of :func:`compile_all`'s policies with
    the policy ids back in front as ``policy`` (a categorical column: one string per policy,
    not per row)."""
    ids = sorted({c.policy.id for c in compiled})
    codes = frame["policy_no"].to_numpy(dtype="int64")
    out = frame.copy(deep=False)  # the caller's frame unchanged, its columns not copied
    out.insert(0, "policy", pd.Categorical.from_codes(codes, categories=ids))
    return out


def order(frame: pd.DataFrame) -> pd.DataFrame:
    """An executed :func:`evaluate_expr` in the order of (policy, enterprise, entity)."""
    keys = ["policy_no", "enterprise_id", "entity"]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def compile_all(
    policies: list[Policy],
    inputs: dict[str, ir.Table],
    year: int,
    on: date,
    counties: list[str],
    backend: Any = None,
    trace: bool = True,
) -> list[Compiled]:
    """Every policy compiled; policies of one shape (:func:`_shape_key`) share one
    expression, so the whole batch is one small expression however many policies it has.
    The policies of one target and region read one row table (the joined inputs), computed
    once: on DuckDB a CTE of the query, on Spark persisted in ``backend`` when given (the
    batch; one enterprise's evaluation leaves it to the engine to push its filter down) — the
    Ibis backend's cache, released with the expressions."""
    slots = slot_counts(policies) if trace else {}
    wide: dict[tuple[str, str | None], set[str]] = {}
    for p in policies:
        key = (p.spec.target, p.spec.region)
        wide.setdefault(key, set()).update(r for e in p.exprs.values() for r in e.refs)
    shared = {
        **inputs,
        "__rows_cache__": {},
        "__rows_refs__": {k: frozenset(v) for k, v in wide.items()},
        "__materialize__": backend,
    }  # type: ignore[dict-item]
    numbers = {pid: i for i, pid in enumerate(sorted(p.id for p in policies))}
    shapes: dict[str, tuple[frozenset[str], list[Any]]] = {}
    alone: list[Compiled] = []
    for p in policies:
        prefix = region_prefix(p.spec.region) if p.spec.region else ""
        groups = _param_groups(p, [c for c in counties if c.startswith(prefix)], on)
        shape = _shape_key(p, groups)
        if shape is None:
            alone += _compile(
                p, _rows(p, shared, year), groups, year, slots, numbers=numbers, trace=trace
            )
            continue
        entry = shapes.setdefault(shape[0], (shape[1], []))
        entry[1].append((p, groups))
    compiled = list(alone)
    for columns, items in shapes.values():
        first, groups = items[0]
        members = [(p, g[0][1], g[0][2]) for p, g in items]
        compiled += _compile(
            first, _rows(first, shared, year), groups, year, slots, members, columns, numbers, trace
        )
    held = list(shared["__rows_cache__"].values())  # type: ignore[union-attr]
    for c in compiled:
        c.held = held
    order = {p.id: i for i, p in enumerate(policies)}
    return sorted(compiled, key=lambda c: order[c.policy.id])


def _value(kind: str, v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if v is pd.NA:
        return None
    if kind == "bool":
        return bool(v)
    if hasattr(v, "item"):
        v = v.item()
    return v


def decode(frame: pd.DataFrame, compiled: list[Compiled]) -> list[dict[str, Any]]:
    """Rows of an executed :func:`evaluate_expr` as result dicts with their trace (``None``
    when the policies were compiled without one: ``compile_all(..., trace=False)``)."""
    by_id = {c.policy.id: c for c in compiled}
    traced = "c0" in frame.columns
    out = []
    for rec in frame.to_dict("records"):
        c = by_id[rec["policy"]]
        eligible = _value("bool", rec["eligible"])
        stacked = bool(rec.get("stacked")) if rec.get("stacked") is not None else False
        status = (
            "unknown"
            if eligible is None
            else "no"
            if not eligible
            else "stacked"
            if stacked
            else "eligible"
        )
        amount = _value("number", rec["amount"])
        out.append(
            {
                "policy": c.policy.id,
                "enterprise_id": int(rec["enterprise_id"]),
                "entity": rec["entity"] or "",
                "county_code": rec["county_code"],
                "status": status,
                "amount": None if amount is None else round(amount, 6),
                "trace": _trace(rec, c, stacked) if traced else None,
                "rank_by": _value("number", rec["rank_by"]),
            }
        )
    return out


def _trace(rec: dict[str, Any], c: Compiled, stacked: bool) -> dict[str, Any]:
    """One row's trace: every condition with the values it saw, the formula with its numbers,
    the parameters with their source, the stacking decision."""
    lay, spec = c.layout, c.policy.spec
    values: dict[str, Any] = {}
    for i, name in enumerate(lay.numbers):
        kind = lay.kinds.get(name, "number")
        values[name] = _value(kind, rec.get(f"n{i}"))
    for i, name in enumerate(lay.strings):
        values[name] = _value("string", rec.get(f"s{i}"))
    conditions = []
    for i, cond in enumerate(spec.conditions):
        key = f"conditions[{i}].when"
        res = _value("bool", rec.get(f"c{i}"))
        seen = {r: values.get(r) for r in c.policy.exprs[key].refs if r in values}
        unknown = [r for r in c.policy.exprs[key].refs if lay.kinds.get(r) == "unknown"]
        item: dict[str, Any] = {
            "id": cond.id,
            "zh": cond.zh,
            "en": cond.en,
            "when": cond.when,
            "result": res,
            "values": seen,
        }
        if unknown:
            item["unpublished"] = unknown
        if cond.id in lay.sides:
            op, lk, rk = lay.sides[cond.id]
            lv, rv = values.get(lk), values.get(rk)
            item["sides"] = {"op": op, "left": lv, "right": rv}
            if res is False and lv is not None and rv is not None and op in (">=", ">", "<=", "<"):
                item["gap"] = round(rv - lv, 6) if op in (">=", ">") else round(lv - rv, 6)
                scale = values.get(f"{cond.id}:scale")
                if scale is not None:
                    item["gap_amount"] = round(item["gap"] * scale, 4)
        conditions.append(item)
    formula_refs = [r for r in c.policy.exprs["amount.formula"].refs if r in values]
    return {
        "conditions": conditions,
        "amount": {
            "formula": spec.amount.formula,
            "values": {r: values[r] for r in formula_refs},
            "formula_value": _value("number", rec["amount_formula"]),
            "floor": _value("number", rec["amount_floor"]),
            "cap": _value("number", rec["amount_cap"]),
            "cap_per_enterprise": _value("number", rec["cap_firm"]),
            "unit": spec.amount.unit,
        },
        "parameters": lay.params.get(str(int(rec["param_group"])), []),
        "stacking": None
        if not spec.stacking
        else {
            "group": spec.stacking.group,
            "rule": spec.stacking.rule,
            "decision": "lower than another policy of the group" if stacked else "kept",
        },
    }
