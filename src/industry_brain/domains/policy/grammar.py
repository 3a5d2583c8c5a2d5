"""The policy condition and formula language: a small, safe grammar parsed with Lark (never
``eval``) into a syntax tree that :mod:`.compile` turns into Ibis expressions.

Grammar (conditions and amount formulas share it)::

    expr       := expr "or" expr | expr "and" expr | "not" expr | comparison
    comparison := sum OP sum | sum "in" sum | sum "not" "in" sum | sum
                  (OP is one of == != < <= > >=)
    sum        := sum ("+"|"-") product | product
    product    := product ("*"|"/") unary | unary
    unary      := "-" unary | atom
    atom       := NUMBER | "string" | 'string' | true | false | null
                | [expr, ...]                   a list
                | name(expr, ...)               a function (see FUNCTIONS)
                | namespace.field               a reference (see NAMESPACES)
                | ( expr )

Logic is three-valued (SQL): a reference nobody publishes yet, or a missing figure, is
*unknown*; ``unknown and false`` is false, ``unknown or true`` is true, otherwise unknown.
A policy's condition that is unknown means "cannot tell", never "qualifies".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput, VisitError

GRAMMAR = r"""
?start: expr
?expr: expr "or" and_expr        -> or_
     | and_expr
?and_expr: and_expr "and" not_expr -> and_
     | not_expr
?not_expr: "not" not_expr         -> not_
     | comparison
?comparison: sum COMP_OP sum      -> compare
     | sum "in" sum               -> in_
     | sum "not" "in" sum         -> not_in
     | sum
?sum: sum ADD_OP product          -> arith
    | product
?product: product MUL_OP unary    -> arith
    | unary
?unary: "-" unary                 -> neg
    | atom
?atom: NUMBER                     -> number
     | STRING                     -> string
     | "true"                     -> true
     | "false"                    -> false
     | "null"                     -> null
     | NAME "(" [expr ("," expr)*] ")" -> call
     | NAME ("." NAME)+           -> ref
     | "[" [expr ("," expr)*] "]" -> list
     | "(" expr ")"
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
NAME: /[a-z_][a-z0-9_]*/
STRING: /"[^"\n]*"/ | /'[^'\n]*'/
NUMBER: /\d+(\.\d+)?([eE][+-]?\d+)?/
%import common.WS
%ignore WS
"""

#: namespace → what it reads (documented in the README).
NAMESPACES: dict[str, str] = {
    "enterprise": "the enterprise register row (county_code, industry_code, division, status, "
    "above_scale of the data year, uscc, name)",
    "facts": "the enterprise's figures of the data year (facts.revenue, facts.rd_expense, …)",
    "taxes": "taxes paid by type in the data year (taxes.land_use_tax = 城镇土地使用税)",
    "param": "a parameter of the policy, resolved for the enterprise's county on the date",
    "period": "the data year: period.year, period.start, period.end",
    "project": "a project of the enterprise (result_projects) when the target is project",
    "loan": "a loan of the enterprise (loans input) when the target is loan",
    "mujun": "result_mujun of the data year (class_code, score, ranks, veto)",
    "carbon": "result_carbon of the data year (grade, level, l_value, k_value, co2_net)",
    "tier": "result_tiers (梯度培育) — unknown until a service publishes it",
    "maturity": "result_maturity (两化融合/智能制造成熟度) — unknown until a service publishes it",
}

#: function → (min args, max args, description).
FUNCTIONS: dict[str, tuple[int, int, str]] = {
    "min": (2, 9, "the smallest of the arguments"),
    "max": (2, 9, "the largest of the arguments"),
    "if": (3, 3, "if(condition, then, else)"),
    "coalesce": (2, 9, "the first argument that is known"),
    "known": (1, 1, "true when the argument is known (never unknown)"),
    "lookup": (2, 2, "lookup(param.mapping, key): the mapping's value for key"),
    "keys": (1, 1, "keys(param.mapping): the mapping's keys, as a list"),
    "band": (2, 2, "band(param.bands, x): value of the highest band whose floor ≤ x"),
    "prefix_in": (2, 2, "prefix_in(code, list): the code starts with one of the list's codes"),
    "clip": (3, 3, "clip(x, floor, cap): x limited to [floor, cap]"),
    "days_in_period": (2, 2, "days_in_period(start, end): days of [start, end) in the data year"),
}


class GrammarError(ValueError):
    """A syntax error with its 1-based line and column in the expression."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Parsed:
    """A parsed expression: its source text, tree and the references it reads."""

    text: str
    tree: Tree
    refs: tuple[str, ...]


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def _position(node: Any) -> tuple[int, int]:
    meta = getattr(node, "meta", None)
    if isinstance(node, Token):
        return node.line or 1, node.column or 1
    if meta is not None and not getattr(meta, "empty", True):
        return meta.line, meta.column
    return 1, 1


def parse(text: str) -> Parsed:
    """Parse and check an expression (references' namespaces, function names and arities)."""
    if not isinstance(text, str) or not text.strip():
        raise GrammarError("empty expression", 1, 1)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        got = text[exc.pos_in_stream : exc.pos_in_stream + 12] if exc.pos_in_stream else ""
        raise GrammarError(
            f"syntax error near '{got}'" if got else "syntax error (unexpected end)",
            exc.line if exc.line and exc.line > 0 else 1,
            exc.column if exc.column and exc.column > 0 else len(text) + 1,
        ) from None
    except VisitError as exc:  # pragma: no cover - no transformers run at parse time
        raise GrammarError(str(exc), 1, 1) from None
    if not isinstance(tree, Tree):
        tree = Tree("group", [tree])
    refs: list[str] = []
    for node in tree.iter_subtrees_topdown():
        if node.data == "ref":
            names = [str(t) for t in node.children]
            if names[0] not in NAMESPACES:
                line, col = _position(node)
                raise GrammarError(
                    f"unknown namespace '{names[0]}' (one of {', '.join(NAMESPACES)})", line, col
                )
            if len(names) != 2:
                line, col = _position(node)
                raise GrammarError(
                    f"a reference is namespace.field, not {'.'.join(names)}", line, col
                )
            refs.append(".".join(names))
        elif node.data == "call":
            name = str(node.children[0])
            args = [a for a in node.children[1:] if a is not None]
            line, col = _position(node)
            if name not in FUNCTIONS:
                raise GrammarError(
                    f"unknown function '{name}' (one of {', '.join(FUNCTIONS)})", line, col
                )
            lo, hi, _ = FUNCTIONS[name]
            if not lo <= len(args) <= hi:
                raise GrammarError(
                    f"{name}() takes {lo}" + (f"–{hi}" if hi != lo else "") + f" arguments, "
                    f"not {len(args)}",
                    line,
                    col,
                )
    return Parsed(text, tree, tuple(dict.fromkeys(refs)))
