"""百千万 bulletin files: XLSX (openpyxl), HTML (Jinja2) and PDF (WeasyPrint, from the HTML).

The figures come from :func:`industry_brain.domains.projects.programs.progress`; this module
only renders them. Workbook rows go through :mod:`industry_brain.core.exports` (project and
county names are text, never formulas).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl.styles import Alignment, Font, PatternFill

from industry_brain.core import exports
from industry_brain.core.errors import IBError, Location
from industry_brain.domains.projects.programs import LIST_ZH

TEMPLATES = Path(__file__).resolve().parent / "templates"
FILLS = {"red": "FDE2E1", "yellow": "FFF4CC", "black": "D9D9D9"}


class ReportError(IBError):
    """A report file could not be produced."""


def _rules(data: dict[str, Any]) -> dict[str, str]:
    values = {p["key"].rsplit(".", 1)[-1]: p["value"] for p in data["parameters"]}
    red = values.get("red_at", 1.0) * 100
    yellow = values.get("yellow_at", 0.6) * 100
    return {
        "red": f"综合得分 ≥ {red:g}%",
        "yellow": f"{yellow:g}% ≤ 得分 < {red:g}%",
        "black": f"得分 < {yellow:g}%",
    }


def _categories(data: dict[str, Any]) -> list[str]:
    return [p["program"] for p in data["counties"][0]["programs"]] if data["counties"] else []


def render_html(data: dict[str, Any]) -> str:
    """The bulletin as an HTML page (Chinese with English labels)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    template = env.get_template("bulletin.html.j2")
    return template.render(b=data, cats=_categories(data), list_zh=LIST_ZH, list_rule=_rules(data))


def write_xlsx(data: dict[str, Any], path: Path, enrolled: list[dict[str, Any]]) -> Path:
    """Workbook with sheets 排名 (ranking), 红黄黑榜 (lists), 入库项目 (enrolments), 参数."""
    wb = exports.workbook()
    ws = wb.active
    ws.title = "排名 ranking"
    cats = _categories(data)
    exports.append(ws, [f"{data['year']}年百千万工程进度通报（截至 {data['as_of']}）"])
    exports.append(ws, [f"时序进度 time progress: {data['time_fraction']:.4f}"])
    header = ["排名 rank", "区县代码 code", "区县 county"]
    for c in cats:
        header += [f"{c} 完成", f"{c} 目标", f"{c} 时序目标", f"{c} 完成率"]
    header += ["综合得分 score", "榜单 list"]
    exports.append(ws, header)
    bold = Font(bold=True)
    for cell in ws[3]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True)
    for c in data["counties"]:
        row: list[Any] = [c["rank"], c["county_code"], c["county"]]
        for p in c["programs"]:
            row += [p["achieved"], p["target"], p["time_target"], p["ratio"]]
        row += [c["score"], LIST_ZH[c["list"]] if c["list"] else None]
        at = exports.append(ws, row)
        if c["list"]:
            fill = PatternFill("solid", fgColor=FILLS[c["list"]])
            for cell in ws[at]:
                cell.fill = fill
    ws.column_dimensions["C"].width = 12
    lists = wb.create_sheet("红黄黑榜 lists")
    rules = _rules(data)
    exports.append(lists, ["榜单 list", "规则 rule", "区县 counties"])
    for key in ("red", "yellow", "black"):
        exports.append(lists, [LIST_ZH[key], rules[key], "、".join(data["lists"][key])])
    totals = wb.create_sheet("分类汇总 totals")
    exports.append(
        totals,
        ["类别 category", "目标 target", "入库 enrolled", "计划投资 万元", "已完成投资 万元"],
    )
    for code, t in data["totals"].items():
        exports.append(
            totals,
            [code, t["target"], t["achieved"], t["planned_investment"], t["investment_done"]],
        )
    detail = wb.create_sheet("入库项目 enrolments")
    exports.append(detail, ["类别 program", "年度 year", "入库日期 date", "项目代码 code",
                            "项目 name", "区县 county", "阶段 stage"])  # fmt: skip
    for e in enrolled:
        exports.append(
            detail,
            [
                e["program"],
                e["year"],
                e["enrolled_on"],
                e["project"],
                e["name"],
                e["county_code"],
                e["stage"],
            ],
        )
    params = wb.create_sheet("参数 parameters")
    exports.append(params, ["key", "region", "value", "since", "quality", "source"])
    for p in data["parameters"]:
        exports.append(
            params, [p["key"], p["region"], str(p["value"]), p["since"], p["quality"], p["source"]]
        )
    stamp = datetime.fromisoformat(data["as_of"])
    wb.properties.created = stamp
    wb.properties.modified = stamp
    return exports.save(wb, path)


def write_pdf(html: str, path: Path) -> Path:
    """The HTML bulletin as PDF (WeasyPrint; CJK text needs a CJK font, e.g. Noto Sans CJK)."""
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ReportError(
            "report.pdf_unavailable",
            "未安装 WeasyPrint，无法生成 PDF（可用 --no-pdf 只生成 XLSX 和 HTML）",
            "WeasyPrint is not installed: no PDF (use --no-pdf for XLSX and HTML only)",
            Location(file=str(path)),
        ) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(path)
    return path


def write_bulletin(
    data: dict[str, Any],
    enrolled: list[dict[str, Any]],
    out_dir: Path,
    pdf: bool = True,
) -> dict[str, str]:
    """Write ``bulletin_<year>_<as_of>.xlsx/.html`` (and ``.pdf``) into ``out_dir``."""
    stem = f"bulletin_{data['year']}_{data['as_of']}"
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(data)
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(html, encoding="utf-8")
    files = {
        "xlsx": str(write_xlsx(data, out_dir / f"{stem}.xlsx", enrolled)),
        "html": str(html_path),
    }
    if pdf:
        files["pdf"] = str(write_pdf(html, out_dir / f"{stem}.pdf"))
    return files
