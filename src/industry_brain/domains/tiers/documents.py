"""The signed 冠军领航计划书 (一企一策 plan) as a PDF: a standalone HTML page rendered with Jinja2
and printed by WeasyPrint in a CJK font (Noto Sans/Serif CJK), the same from the CLI and the
web. Numbers go through :mod:`industry_brain.core.formatting`."""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from industry_brain.core import formatting
from industry_brain.core.errors import Location
from industry_brain.domains.tiers import plans
from industry_brain.domains.tiers.inputs import INPUTS
from industry_brain.domains.tiers.models import TiersPlan
from industry_brain.domains.tiers.plugin import HERE
from industry_brain.domains.tiers.service import TiersError, tier_label

STATE_ZH = {
    "reached": "已达成",
    "on_track": "按进度",
    "off_track": "滞后",
    "no_data": "暂无数据",
    "due_missed": "到期未达成",
    "done": "已完成",
    "open": "进行中",
    "overdue": "已逾期",
}


def _value(indicator: str, value: Any) -> str:
    if value is None:
        return "—"
    unit = INPUTS[indicator].unit if indicator in INPUTS else None
    if unit == "ratio":
        return formatting.percent(value)
    return formatting.number(value, unit=unit if unit in ("万元",) else None)


def plan_html(session: Session, plan: TiersPlan, today: date) -> str:
    view = plans.plan_view(session, plan, today)
    env = Environment(
        loader=FileSystemLoader(str(HERE / "web_templates")),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("tiers_plan_document.html").render(
        v=view,
        today=today,
        tier=tier_label(plan.target_tier),
        label=lambda code: INPUTS[code].zh if code in INPUTS else code,
        value=_value,
        state=lambda s: STATE_ZH.get(s, s),
        money=lambda v: formatting.with_unit(v, "万元"),
    )


def plan_pdf(session: Session, plan: TiersPlan, today: date) -> bytes:
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise TiersError(
            "tiers.pdf_unavailable",
            "未安装 WeasyPrint，无法生成 PDF",
            "WeasyPrint is not installed: no PDF",
            Location(field="pdf"),
        ) from exc
    return HTML(string=plan_html(session, plan, today)).write_pdf()
