"""Every audit action the platform writes has a label in both languages (issue 14, point 6): the
audit page shows labels, never raw action codes. The actions are read from the source: the
literal action of each ``record(...)`` call, ``export.<what>`` of each ``record_export(...)`` and
``export.list.<name>`` of each list (``ListSpec``) — a new one without a label fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from industry_brain.web.i18n import catalog

SRC = Path(__file__).resolve().parents[1] / "src" / "industry_brain"


def _literals(arg: ast.expr) -> list[str]:
    """The action texts an argument can take: a literal, or both literals of ``a if c else b``."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.IfExp):
        return _literals(arg.body) + _literals(arg.orelse)
    return []


def written_actions() -> dict[str, str]:
    """Audit action → the module that writes it."""
    actions: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = [a.value if isinstance(a, ast.Constant) else None for a in node.args[:3]]
            where = str(path.relative_to(SRC))
            if name == "record" and len(node.args) >= 3:
                for action in _literals(node.args[2]):
                    actions.setdefault(action, where)
            elif name == "record_export" and len(first) == 3 and isinstance(first[2], str):
                actions.setdefault(f"export.{first[2]}", where)
            elif name == "ListSpec" and first and isinstance(first[0], str):
                actions.setdefault(f"export.list.{first[0]}", where)
    return actions


def test_every_written_audit_action_has_a_label() -> None:
    actions = written_actions()
    assert {"auth.login", "auth.login_failed", "review.confirm", "export.list.batches"} <= set(
        actions
    )
    for lang in ("zh", "en"):
        keys = catalog(lang)
        missing = sorted(
            f"{a} ({w})" for a, w in actions.items() if f"audit.action.{a}" not in keys
        )
        assert not missing, f"{lang}: audit actions without a label: {missing}"
