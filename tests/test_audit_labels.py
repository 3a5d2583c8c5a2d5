"""Every audit action, object type and detail field the platform writes has a label in both
languages (issue 14, point 6): the audit page shows labels, never raw codes. They are read from
the source: the literals of each ``record(...)`` call (action, object type, the keys of a literal
detail), ``export.<what>`` of each ``record_export(...)`` and ``export.list.<name>`` of each list
(``ListSpec``) — a new one without a label fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from industry_brain.web.i18n import catalog

SRC = Path(__file__).resolve().parents[1] / "src" / "industry_brain"


def _literals(arg: ast.expr | None) -> list[str]:
    """The texts an argument can take: a literal, or both literals of ``a if c else b``."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.IfExp):
        return _literals(arg.body) + _literals(arg.orelse)
    return []


def written() -> dict[str, dict[str, str]]:
    """``action`` / ``object`` / ``field`` → code → the module that writes it."""
    found: dict[str, dict[str, str]] = {"action": {}, "object": {}, "field": {}}
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = node.args
            if name == "record" and len(args) >= 4:
                for code in _literals(args[2]):
                    found["action"].setdefault(code, where)
                for code in _literals(args[3]):
                    found["object"].setdefault(code, where)
                if len(args) >= 6 and isinstance(args[5], ast.Dict):
                    for key in args[5].keys:
                        for code in _literals(key):
                            found["field"].setdefault(code, where)
            elif name == "record_export" and len(args) >= 3:
                for code in _literals(args[2]):
                    found["action"].setdefault(f"export.{code}", where)
                    found["object"].setdefault(code, where)
            elif name == "ListSpec" and args:
                for code in _literals(args[0]):
                    found["action"].setdefault(f"export.list.{code}", where)
    return found


def test_every_written_audit_code_has_a_label() -> None:
    found = written()
    assert {"auth.login", "auth.login_failed", "review.confirm", "export.list.batches"} <= set(
        found["action"]
    )
    assert {"enterprise", "match_review"} <= set(found["object"]) and "uscc" in found["field"]
    for lang in ("zh", "en"):
        keys = catalog(lang)
        for kind, codes in found.items():
            missing = sorted(
                f"{c} ({w})" for c, w in codes.items() if f"audit.{kind}.{c}" not in keys
            )
            assert not missing, f"{lang}: audit {kind}s without a label: {missing}"
