"""``industry-brain diagnosis``: 智能制造诊断 — questionnaires, assessments, scoring, reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from industry_brain.cli_support import JsonOpt, Table, console
from industry_brain.cli_support import errors as _errors
from industry_brain.cli_support import print_json as _print_json
from industry_brain.core import env

NAME = "diagnosis"
app = typer.Typer(
    help="智能制造诊断 maturity diagnosis: questionnaires (CMMM, DCMM, 两化融合, 工控安全, "
    "5G 全连接工厂, census), assessments, GB/T 39117 scoring, reports.",
    rich_markup_mode="rich",
    no_args_is_help=True,
)

UserOpt = Annotated[
    str, typer.Option("--user", help="Username acting (its role and scope apply; audited).")
]


def _scope(session: Any, username: str) -> Any:
    from sqlalchemy import select

    from industry_brain.core.errors import NotFoundError
    from industry_brain.store.models import User
    from industry_brain.store.scope import scope_for

    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(
            "diagnosis.user", f"没有用户 {username}", f"no user {username}", value=username
        )
    return scope_for(user)


@app.command(epilog="Example: industry-brain diagnosis questionnaires --json")
def questionnaires(as_json: JsonOpt = False) -> None:
    """The shipped questionnaires (latest version of each): id, version, standard, scoring,
    levels, domains, sub-domains and requirements."""
    from industry_brain.domains.diagnosis import questionnaire as qn

    with _errors():
        found = qn.latest()
    rows = [
        {
            "id": q.id,
            "version": q.version,
            "title_zh": q.title["zh"],
            "title_en": q.title["en"],
            "standard": q.standard["en"],
            "standard_zh": q.standard["zh"],
            "scoring": q.scoring,
            "quality": q.quality,
            "levels": q.max_level,
            "domains": len(q.domains),
            "subdomains": len(q.subdomains()),
            "requirements": len(q.requirements),
        }
        for q in found
    ]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="问卷 / questionnaires")
    cols = (
        "ID",
        "版本 version",
        "名称 title",
        "计分 scoring",
        "等级 levels",
        "子域 sub",
        "要求 req",
    )
    for col in cols:
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["id"],
            r["version"],
            r["title_zh"],
            r["scoring"],
            str(r["levels"]),
            str(r["subdomains"]),
            str(r["requirements"]),
        )
    console.print(t)


@app.command(
    epilog="Example: industry-brain diagnosis assess 91330500MA2B3C4D5B --questionnaire cmmm "
    "--year 2025 --answers answers.yaml --user ent_wx --submit --json"
)
def assess(
    uscc: Annotated[str, typer.Argument(help="The enterprise's USCC.")],
    questionnaire: Annotated[str, typer.Option(help="Questionnaire id.")],
    year: Annotated[int, typer.Option(help="Assessment year.")],
    user: UserOpt,
    answers: Annotated[
        Path | None,
        typer.Option(help="YAML or JSON mapping requirement code → answer (full/largely/…)."),
    ] = None,
    industry_type: Annotated[
        str | None, typer.Option(help="discrete or process (default from the industry).")
    ] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Submit after saving.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start (or resume) the enterprise's assessment, save answers from a file, optionally
    submit — as an enterprise user (``--user``)."""
    import yaml
    from sqlalchemy.orm import Session

    from industry_brain.domains.diagnosis import service
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        scope = _scope(s, user)
        a = service.start(s, scope, uscc, questionnaire, year, industry_type)
        prog = None
        if answers is not None:
            data = yaml.safe_load(answers.read_text(encoding="utf-8")) or {}
            prog = service.save_answers(
                s, scope, a.id, {str(k): None if v is None else str(v) for k, v in data.items()}
            )
        if submit:
            service.submit(s, scope, a.id)
        out = {
            "assessment_id": a.id,
            "questionnaire": a.questionnaire,
            "version": a.version,
            "status": a.status,
            "industry_type": a.industry_type,
            "progress": prog,
        }
    if as_json:
        _print_json(out)
        return
    console.print(
        f"评估 {out['assessment_id']}（{out['questionnaire']}@{out['version']}）状态 "
        f"{out['status']} / assessment {out['assessment_id']} status {out['status']}",
        highlight=False,
    )
    if prog:
        console.print(
            f"进度 progress: {prog['answered']}/{prog['applicable']} ({prog['percent']}%)",
            highlight=False,
        )


@app.command(epilog="Example: industry-brain diagnosis score --year 2025 --engine pyspark --json")
def score(
    year: Annotated[int, typer.Option(help="Assessment year.")],
    engine: Annotated[str, typer.Option(help="duckdb or pyspark.")] = "duckdb",
    actor: Annotated[str, typer.Option(help="Recorded in the audit log.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Score every final assessment of the year (vectorised) and publish the results
    (``result_maturity``, with the parameter version) for the next snapshot."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from industry_brain.domains.diagnosis import publish
    from industry_brain.domains.diagnosis.models import DiagnosisResult
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        r = publish.run(s, year, actor, engine)
        levels = dict(
            s.execute(
                select(DiagnosisResult.cmmm_level, func.count())
                .where(DiagnosisResult.run_id == r.id, DiagnosisResult.cmmm_level.is_not(None))
                .group_by(DiagnosisResult.cmmm_level)
            ).all()
        )
        out = {
            "run_id": r.id,
            "year": r.year,
            "engine": r.engine,
            "parameter_version": r.parameter_version,
            **r.summary,
            "cmmm_levels": {int(k): int(v) for k, v in sorted(levels.items())},
        }
    if as_json:
        _print_json(out)
        return
    console.print(
        f"成熟度结果批次 {out['run_id']}（{year} 年）：企业 {out['enterprises']} 家，"
        f"评估 {out['assessments']} 份，贯标 {out['guanbiao_certified']} 家 / run {out['run_id']}: "
        f"{out['enterprises']} enterprises, {out['assessments']} assessments",
        highlight=False,
    )
    t = Table(title="CMMM 等级分布 levels")
    t.add_column("等级 level")
    t.add_column("企业 firms")
    for k, v in out["cmmm_levels"].items():
        t.add_row(str(k), str(v))
    console.print(t)


@app.command(
    epilog="Example: industry-brain diagnosis report 91330500MA2B3C4D5B --year 2025 "
    "--user city_officer --pdf report.pdf --json"
)
def report(
    uscc: Annotated[str, typer.Argument(help="The enterprise's USCC.")],
    user: UserOpt,
    questionnaire: Annotated[str, typer.Option(help="Questionnaire id.")] = "cmmm",
    year: Annotated[int | None, typer.Option(help="Assessment year (default: newest).")] = None,
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    pdf: Annotated[Path | None, typer.Option(help="Write the report as PDF here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the report as HTML here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The diagnosis report of the enterprise's newest final assessment (scoped to ``--user``;
    the read is audited): level, score, domains, weakest sub-domains, peers, next level."""

    from sqlalchemy.orm import Session

    from industry_brain.core.errors import NotFoundError
    from industry_brain.domains.diagnosis import report as rep
    from industry_brain.domains.diagnosis import service
    from industry_brain.store import audit
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        scope = _scope(s, user)
        found = [
            x["assessment"]
            for x in service.list_for(s, scope, uscc)
            if x["assessment"].questionnaire == questionnaire
            and x["assessment"].status == "final"
            and (year is None or x["assessment"].year == year)
        ]
        if not found:
            raise NotFoundError(
                "diagnosis.no_report",
                f"{uscc} 没有可查看的已定稿 {questionnaire} 评估",
                f"{uscc} has no final {questionnaire} assessment you may see",
                value=uscc,
            )
        a = max(found, key=lambda x: (x.year, x.id))
        data = rep.build(s, scope, a.id, lang)
        audit.record(
            s, scope.username, "diagnosis.report", "diagnosis_assessment", str(a.id), {"uscc": uscc}
        )
        s.commit()
        today = env.today()
        if pdf is not None:
            pdf.write_bytes(rep.pdf(data, today))
        if html is not None:
            html.write_text(rep.html(data, today), encoding="utf-8")
    out = {
        "assessment_id": a.id,
        "uscc": data["enterprise"]["uscc"],
        "questionnaire": data["questionnaire"]["id"],
        "version": data["questionnaire"]["version"],
        "year": a.year,
        "level": data["level"],
        "level_name": data["level_name"],
        "score": data["score"],
        "domains": dict(data["domains"]),
        "weakest": [{k: w[k] for k in ("code", "name", "level", "score")} for w in data["weakest"]],
        "peers": data["peers"],
        "next_level": data["path"]
        and {
            "level": data["path"]["level"],
            "score": data["path"]["score"],
            "subdomains": [g["code"] for g in data["path"]["subdomains"]],
        },
        "opinion": data["opinion"],
        "pdf": str(pdf) if pdf else None,
    }
    if as_json:
        _print_json(out)
        return
    console.print(
        f"{data['enterprise']['name']}：{data['questionnaire']['title']} 等级 {out['level']} 级"
        f"（{out['level_name'] or '—'}），得分 {out['score']:.2f} / level {out['level']}, "
        f"score {out['score']:.2f}",
        highlight=False,
    )
    t = Table(title="能力域 domains")
    t.add_column("能力域 domain")
    t.add_column("得分 score")
    for name, v in data["domains"]:
        t.add_row(name, f"{v:.2f}")
    console.print(t)
    if pdf:
        console.print(f"PDF: {pdf}", highlight=False)


@app.command(
    epilog="Example: industry-brain diagnosis indicators --year 2025 --county 330502 --json"
)
def indicators(
    year: Annotated[int, typer.Option(help="Census year.")],
    county: Annotated[str | None, typer.Option(help="One county's code.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """County digital indicators from the census (数控化率, 研发设计工具普及率, 产业链协同,
    上云; definitions are parameters) with the nation's and the province's published values,
    and the 两化融合 stage and DCMM level distributions of the published results."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.diagnosis import indicators as ind
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        out = ind.indicators(s, year, county)
    if as_json:
        _print_json(out)
        return

    def pct(x: dict) -> str:
        return "—" if x["value"] is None else f"{100 * x['value']:.1f}%"

    t = Table(title=f"数字化指标 digital indicators {year}")
    cols = (
        "区县 county",
        "普查 firms",
        "数控化率 NC",
        "研发设计 design",
        "协同 chain",
        "上云 cloud",
    )
    for col in cols:
        t.add_column(col)
    for r in out["rows"]:
        t.add_row(
            r["county_name"] or r["county_code"],
            str(r["evaluated"]),
            pct(r["nc_rate"]),
            pct(r["design_tools"]),
            pct(r["chain_collaboration"]),
            pct(r["cloud"]),
        )
    for name in ("nation", "province"):
        p = out["published"][name]
        v = p["value"] or {}
        t.add_row(
            f"{'全国' if name == 'nation' else '省'} {name} [{p['quality']}]",
            "",
            f"{100 * v['nc_rate']:.1f}%" if "nc_rate" in v else "—",
            f"{100 * v['design_tools']:.1f}%" if "design_tools" in v else "—",
            f"{100 * v['chain_collaboration']:.1f}%" if "chain_collaboration" in v else "—",
            "—",
        )
    console.print(t)


@app.command(
    epilog="Example: industry-brain diagnosis certificates 贯标名单.xlsx --kind lianghua_guanbiao "
    "--json"
)
def certificates(
    file: Annotated[Path, typer.Argument(help="The list (XLSX or CSV, UTF-8 or GB18030).")],
    kind: Annotated[str, typer.Option(help="lianghua_guanbiao or dcmm.")],
    actor: Annotated[str, typer.Option(help="Recorded in the audit log.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Import a 两化融合贯标 or DCMM certificate list with lineage (file, sheet, row, batch) and
    expiry; rows that cannot be used are listed with their row numbers."""
    from sqlalchemy.orm import Session

    from industry_brain.domains.diagnosis import certificates as certs
    from industry_brain.store.db import get_engine

    with _errors(), Session(get_engine()) as s:
        out = certs.import_certificates(s, file, kind, actor)
        s.commit()
    if as_json:
        _print_json(out)
        return
    console.print(
        f"批次 {out['batch_id']}：导入证书 {out['certificates']} 张，"
        f"已有 {out['already_known']} 张，问题 {len(out['problems'])} 行 / "
        f"batch {out['batch_id']}: {out['certificates']} "
        f"certificates, {out['already_known']} known, {len(out['problems'])} problem rows",
        highlight=False,
    )
    for p in out["problems"]:
        console.print(f"  行 row {p['row']}: {p['message']}", highlight=False)
