"""The programmes service (issue 19, points 4–8) on a small hand-made store: programme targets
from the dated parameters, assignment to providers by hand, progress on a frozen clock with the
red / yellow / black lists computed by hand, the export (audited), recognition-list import with
lineage and row errors, 智造荟 events, loans with the consent rule and the policy loan register,
and the 重硬轻软 averages by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import IBError, NotFoundError
from industry_brain.core.uscc import make
from industry_brain.domains.carbon.models import BankConsent
from industry_brain.domains.diagnosis.models import DiagnosisAssessment
from industry_brain.domains.programmes import benchmarks, diagnosis, events, investment, loans
from industry_brain.domains.programmes.models import ProgrammeRecognition
from industry_brain.store.models import AuditLog, Enterprise, Project, User
from industry_brain.store.scope import PermissionDenied, Scope, scope_for

ADMIN = Scope(user_id=None, username="admin", role="admin")
# enterprises: (key, USCC, county, GB/T 4754 division)
FIRMS = (
    ("A", make("91330502MA2TQT001"), "330502", "17"),
    ("C", make("91330502MA2TQT002"), "330502", "34"),
    ("D", make("91330502MA2TQT003"), "330502", "17"),
    ("B", make("91330503MA2TQT004"), "330503", "34"),
)
P17, P34, PALL = make("91330500MA2PRW001"), make("91330500MA2PRW002"), make("91330500MA2PRW003")


def _store(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        ids = {}
        for key, uscc, county, division in FIRMS:
            e = Enterprise(
                uscc=uscc,
                name=f"测试企业{key}",
                county_code=county,
                industry_code=division,
                status="存续",
            )
            s.add(e)
            s.flush()
            ids[key] = e.id
        for name, role, extra in (
            ("county_nx", "county_officer", {"county_code": "330503"}),
            ("bank_hz", "bank", {"organisation": "湖州测试银行"}),
            ("bank_other", "bank", {"organisation": "另一家银行"}),
            ("ent_a", "enterprise", {"enterprise_id": ids["A"]}),
        ):
            u = User(username=name, display_name=name, password_hash="x", role=role, **extra)
            s.add(u)
            s.flush()
            ids[name] = u.id
        s.commit()
    return ids


def _scope(s: Session, username: str) -> Scope:
    return scope_for(s.scalars(select(User).where(User.username == username)).one())


def _assessment(s: Session, eid: int, status: str, submitted: date | None) -> None:
    s.add(
        DiagnosisAssessment(
            enterprise_id=eid,
            questionnaire="cmmm",
            version="2020.1",
            year=2026,
            industry_type="discrete",
            status=status,
            created_by="t",
            submitted_at=datetime(submitted.year, submitted.month, submitted.day, 10, tzinfo=UTC)
            if submitted
            else None,
            result={},
        )
    )


# -- targets from the dated parameters ------------------------------------------------------------
def test_targets_come_from_the_regional_parameters(sqlite_engine: Engine) -> None:
    params = parameters.load()
    assert params.get("programmes.diagnosis.annual_target", "330502", date(2026, 1, 1)) == 814
    assert params.get("programmes.diagnosis.annual_target", "420100", date(2026, 1, 1)) == 2000
    assert params.get("programmes.diagnosis.annual_target", "320500", date(2026, 1, 1)) == 500
    # Huzhou: the county split adds up to 814; the programme freezes it with its sources
    with Session(sqlite_engine) as s:
        p = diagnosis.create(
            s, "湖州诊断", "330500", 2026, 1221, date(2026, 1, 1), date(2026, 12, 31)
        )
        data = diagnosis.progress(s, ADMIN, p.id, date(2026, 1, 1))
        assert {c["county_code"]: c["target"] for c in data["counties"]} == {
            "330502": 180,
            "330503": 150,
            "330521": 160,
            "330522": 174,
            "330523": 150,
        }
        assert data["totals"]["target"] == 814
        keys = {q["key"]: q for q in p.parameters}
        assert keys["programmes.diagnosis.county_targets"]["region"] == "330500"
        assert keys["programmes.diagnosis.report_days"]["value"] == 60
        with pytest.raises(IBError):
            diagnosis.create(s, "倒序", "330500", 2026, 1, date(2026, 5, 1), date(2026, 4, 1))
    # an empty county mapping splits the annual target evenly, remainders to the first codes
    assert diagnosis._even_split(814, ["330503", "330502", "330521", "330522", "330523"]) == {
        "330502": 163,
        "330503": 163,
        "330521": 163,
        "330522": 163,
        "330523": 162,
    }


# -- assignment by hand ---------------------------------------------------------------------------
def test_assignment_by_industry_and_capacity_explained(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from industry_brain.store import db

    monkeypatch.setattr(db, "IN_CHUNK", 3)  # the firms looked up in slices, still in order
    _store(sqlite_engine)
    with Session(sqlite_engine) as s:
        p = diagnosis.create(
            s,
            "测试项目",
            "330500",
            2026,
            100,
            date(2026, 1, 1),
            date(2026, 12, 31),
            {"330502": 3, "330503": 1},
        )
        diagnosis.add_provider(s, p.id, PALL, "综合服务商", 5)
        diagnosis.add_provider(s, p.id, P17, "纺织服务商", 1, ["17"])
        diagnosis.add_provider(s, p.id, P34, "装备服务商", 2, ["34", "35"])
        with pytest.raises(IBError):  # the same provider twice
            diagnosis.add_provider(s, p.id, P17, "纺织服务商", 1, ["17"])
        out = diagnosis.assign(s, p.id, [u for _, u, _, _ in FIRMS], date(2026, 2, 1))
        s.commit()
        got = [
            (a["uscc"], a["provider"], a["rule"], a["load_before"], a["candidates"])
            for a in out["assigned"]
        ]
        # by (county, USCC): A(17) → the 17 specialist; C(34) → the 34 specialist; D(17): the 17
        # specialist is full → the generalist; B(34, 330503) → the 34 specialist, load 1 of 2
        assert got == [
            (FIRMS[0][1], P17, "specialist", "0/1", 2),
            (FIRMS[1][1], P34, "specialist", "0/2", 2),
            (FIRMS[2][1], PALL, "generalist", "0/5", 1),
            (FIRMS[3][1], P34, "specialist", "1/2", 2),
        ]
        assert out["unassigned"] == []
        assert (
            diagnosis.reason_text(out["assigned"][3])
            == "专业服务行业 34；分配前负荷 1/2；候选 2 家"
        )
        # deadlines: 60 days (report_days) after the assignment day
        rows = diagnosis.assignments(s, ADMIN, p.id, date(2026, 2, 1))
        assert {r["due_on"] for r in rows} == {"2026-04-02"}
        # assigning again changes nothing; a programme with only a full specialist leaves firms out
        again = diagnosis.assign(s, p.id, [FIRMS[0][1]], date(2026, 3, 1))
        assert again["assigned"] == [] and again["unassigned"] == []
        q = diagnosis.create(
            s, "第二项目", "330500", 2026, 10, date(2026, 1, 1), date(2026, 12, 31), {"330502": 1}
        )
        diagnosis.add_provider(s, q.id, P17, "纺织服务商", 1, ["17"])
        out2 = diagnosis.assign(s, q.id, [FIRMS[1][1], FIRMS[0][1]], date(2026, 2, 1))
        assert [a["uscc"] for a in out2["assigned"]] == [FIRMS[0][1]]
        assert [u["uscc"] for u in out2["unassigned"]] == [FIRMS[1][1]]


# -- progress on a frozen clock -------------------------------------------------------------------
def test_progress_lists_on_a_frozen_clock_by_hand(engine: Engine, tmp_path: Path) -> None:
    ids = _store(engine)
    with Session(engine) as s:
        p = diagnosis.create(
            s,
            "测试项目",
            "330500",
            2026,
            100,
            date(2026, 1, 1),
            date(2026, 12, 31),
            {"330502": 4, "330503": 2},
        )
        diagnosis.add_provider(s, p.id, PALL, "综合服务商", 10)
        diagnosis.assign(s, p.id, [FIRMS[0][1], FIRMS[2][1], FIRMS[3][1]], date(2026, 2, 1))
        _assessment(s, ids["A"], "submitted", date(2026, 3, 20))  # done on 20 March
        _assessment(s, ids["D"], "draft", None)  # a draft does not count
        _assessment(s, ids["D"], "final", date(2026, 1, 15))  # before the assignment: no
        _assessment(s, ids["B"], "reviewed", date(2026, 5, 10))  # done on 10 May
        s.commit()
        # 1 April 2026: f = 91/365. 吴兴 4 × 91/365 = 364/365, done 1 → 365/364 ≥ 1 → red;
        # 南浔 done 0 → black. Nothing overdue yet (due 2 April).
        d = diagnosis.progress(s, ADMIN, p.id, date(2026, 4, 1))
        assert d["time_fraction"] == round(91 / 365, 4)
        wx, nx = d["counties"]
        assert (wx["county_code"], wx["done"], wx["assigned"], wx["overdue"]) == ("330502", 1, 2, 0)
        assert wx["time_target"] == round(364 / 365, 4) and wx["ratio"] == round(365 / 364, 4)
        assert wx["list"] == "red" and nx["list"] == "black" and nx["ratio"] == 0
        # 30 September 2026: f = 273/365. 吴兴 1 ÷ (4 × 273/365) = 365/1092 → black, D overdue;
        # 南浔 1 ÷ (2 × 273/365) = 365/546 = 0.6685 → yellow
        d = diagnosis.progress(s, ADMIN, p.id, date(2026, 9, 30))
        wx, nx = d["counties"]
        assert wx["ratio"] == round(365 / 1092, 4) and wx["list"] == "black" and wx["overdue"] == 1
        assert nx["ratio"] == round(365 / 546, 4) and nx["list"] == "yellow"
        assert d["lists"] == {"red": [], "yellow": [nx["county"]], "black": [wx["county"]]}
        states = {
            r["uscc"]: r["state"] for r in diagnosis.assignments(s, ADMIN, p.id, date(2026, 9, 30))
        }
        assert states == {FIRMS[0][1]: "done", FIRMS[2][1]: "overdue", FIRMS[3][1]: "done"}
        # a county officer sees its county only; an enterprise may not read the programme
        nx_scope = _scope(s, "county_nx")
        assert [
            c["county_code"]
            for c in diagnosis.progress(s, nx_scope, p.id, date(2026, 9, 30))["counties"]
        ] == ["330503"]
        with pytest.raises(PermissionDenied):
            diagnosis.progress(s, _scope(s, "ent_a"), p.id, date(2026, 9, 30))
        # link stores the completing assessment; the export is audited and formula-safe
        assert diagnosis.link_assessments(s, p.id, date(2026, 9, 30)) == 2
        out = diagnosis.export_xlsx(s, ADMIN, p.id, date(2026, 9, 30), tmp_path / "p.xlsx")
        s.commit()
        ws = load_workbook(out)["进度 progress"]
        assert [c.value for c in ws[4]][:8] == [
            "330502",
            wx["county"],
            4,
            round(1092 / 365, 4),
            2,
            1,
            1,
            round(365 / 1092, 4),
        ]
        assert ws[5][8].value == "黄榜"
        assert (
            s.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "programmes.export"))
            == 1
        )


# -- recognitions --------------------------------------------------------------------------------
def test_recognition_import_lineage_errors_and_counts(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    _store(sqlite_engine)
    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["2025年度标杆认定名单"])  # a title row above the header
    ws.append(["统一社会信用代码", "企业名称", "类别", "等级", "年度", "发布单位"])
    ws.append([FIRMS[0][1], "测试企业A", "未来工厂", "省级", 2025, "省经信厅"])  # row 3
    ws.append([FIRMS[1][1], "测试企业C", "绿色工厂", "三星级", 2024, "工信部"])  # row 4
    ws.append(["91330500XXXXXXXXXX", "坏代码", "智能工厂", "省级", 2025, "省经信厅"])  # row 5
    ws.append([FIRMS[2][1], "测试企业D", "元宇宙工厂", "省级", 2025, "省经信厅"])  # row 6
    ws.append([FIRMS[3][1], "测试企业B", "智能工厂", "省级", "二〇二五", "省经信厅"])  # row 7
    ws.append([FIRMS[1][1], "测试企业C", "绿色工厂", "六星级", 2025, "工信部"])  # row 8
    ws.append([FIRMS[0][1], "测试企业A", "未来工厂", "省级", 2025, "省经信厅"])  # row 9: known
    ws.append([FIRMS[3][1], "测试企业B", "5G全连接工厂", "市级", 2026, "市经信局"])  # row 10
    path = tmp_path / "标杆名单.xlsx"
    wb.save(path)
    with Session(sqlite_engine) as s:
        out = benchmarks.import_list(s, path, "t")
        s.commit()
        assert (out["recognitions"], out["already_known"]) == (3, 1)
        assert [p["row"] for p in out["problems"]] == [5, 6, 7, 8]
        assert "元宇宙工厂" in out["problems"][1]["message"]
        rec = s.scalars(select(ProgrammeRecognition).order_by(ProgrammeRecognition.id)).all()
        assert [
            (r.kind, r.level, r.year, r.source_file, r.source_sheet, r.source_row) for r in rec
        ] == [
            ("future_factory", "provincial", 2025, "标杆名单.xlsx", "名单", 3),
            ("green_factory", "star3", 2024, "标杆名单.xlsx", "名单", 4),
            ("g5_factory", "city", 2026, "标杆名单.xlsx", "名单", 10),
        ]
        assert {r.import_batch_id for r in rec} == {out["batch_id"]}
        # counts up to 2025 against the targets (future_factory 1, green_factory 3 per county)
        c = benchmarks.counts(s, ADMIN, 2025)
        wx = next(x for x in c["counties"] if x["county_code"] == "330502")
        kinds = {k["kind"]: k for k in wx["kinds"]}
        assert (kinds["future_factory"]["count"], kinds["future_factory"]["met"]) == (1, True)
        assert (kinds["green_factory"]["count"], kinds["green_factory"]["target"]) == (1, 3)
        assert c["totals"]["g5_factory"] == 0  # recognised in 2026
        assert benchmarks.counts(s, ADMIN, 2026)["totals"]["g5_factory"] == 1
        # visits: only at a factory recognised by then
        benchmarks.add_visit(s, FIRMS[0][1], date(2025, 6, 1), "开放日", 60)
        with pytest.raises(IBError):
            benchmarks.add_visit(s, FIRMS[3][1], date(2025, 6, 1), "开放日", 10)
        assert [v["visitors"] for v in benchmarks.visits(s, ADMIN)] == [60]
    # a list without the kind column (and no --kind) is refused naming the column
    bad = tmp_path / "bad.csv"
    bad.write_text(f"统一社会信用代码,年度\n{FIRMS[0][1]},2025\n", encoding="utf-8")
    with Session(sqlite_engine) as s, pytest.raises(IBError) as exc:
        benchmarks.import_list(s, bad, "t")
    assert exc.value.code == "programmes.list_header" and "类别" in exc.value.zh
    with Session(sqlite_engine) as s:  # with --kind the same list loads
        assert benchmarks.import_list(s, bad, "t", kind="智能工厂")["recognitions"] == 1


# -- 智造荟 events ------------------------------------------------------------------------------
def test_event_registrations_matches_and_outcomes(sqlite_engine: Engine) -> None:
    _store(sqlite_engine)
    with Session(sqlite_engine) as s:
        ev = events.create(s, date(2026, 4, 18), "纺织行业对接会", "17", "330502")
        events.register(s, ev.id, "enterprise", FIRMS[0][1])
        events.register(s, ev.id, "enterprise", FIRMS[2][1])
        events.register(s, ev.id, "provider", P17, "纺织服务商")
        with pytest.raises(IBError):
            events.register(s, ev.id, "provider", P17, "纺织服务商")  # twice
        with pytest.raises(NotFoundError):
            events.register(s, ev.id, "enterprise", make("91330500MA2NQNE01"))
        m1 = events.match(s, ev.id, FIRMS[0][1], P17, "MES")
        m2 = events.match(s, ev.id, FIRMS[2][1], P17, "设备联网")
        with pytest.raises(IBError):  # the provider is not registered as an enterprise
            events.match(s, ev.id, P17, FIRMS[0][1], "x")
        with pytest.raises(IBError):  # a contract needs its amount
            events.set_outcome(s, m1.id, "contracted")
        events.set_outcome(s, m1.id, "contracted", 85.0)
        events.set_outcome(s, m2.id, "dropped")
        s.commit()
        (e,) = events.summary(s, ADMIN)
        assert (e["enterprises"], e["providers"], e["matches"]) == (2, 1, 2)
        assert e["outcomes"] == {
            "matched": 0,
            "contacted": 0,
            "contracted": 1,
            "delivered": 0,
            "dropped": 1,
        }
        assert e["contracted_wan"] == 85.0
        # delivered keeps the contract's amount; a dropped match has none
        events.set_outcome(s, m1.id, "delivered")
        (e,) = events.summary(s, ADMIN)
        assert (e["outcomes"]["delivered"], e["contracted_wan"]) == (1, 85.0)
        assert events.summary(s, _scope(s, "county_nx")) == []  # held in 吴兴


# -- loans: consent rule, statistics, the policy loan register ----------------------------------
def test_loans_need_consent_and_feed_the_policy_register(engine: Engine) -> None:
    ids = _store(engine)
    today = date(2026, 6, 1)
    with Session(engine) as s:
        s.add(
            BankConsent(
                enterprise_id=ids["A"],
                bank_user_id=ids["bank_hz"],
                scopes=["grade"],
                granted_on=date(2026, 1, 1),
                expires_on=date(2026, 12, 31),
                granted_by=ids["ent_a"],
            )
        )
        s.commit()
        bank = _scope(s, "bank_hz")
        loans.register(
            s,
            bank,
            FIRMS[0][1],
            "ZN-001",
            500,
            0.042,
            date(2026, 3, 1),
            date(2028, 3, 1),
            "znzz",
            "数控机床改造",
            None,
            today,
        )
        loans.register(
            s,
            bank,
            FIRMS[0][1],
            "ZN-002",
            300,
            0.038,
            date(2026, 4, 1),
            date(2027, 4, 1),
            "zgsz",
            "MES 上线",
            None,
            today,
        )
        s.commit()
        # no consent from B: refused and audited
        with pytest.raises(PermissionDenied):
            loans.register(
                s,
                bank,
                FIRMS[3][1],
                "ZN-003",
                100,
                0.04,
                date(2026, 3, 1),
                date(2027, 3, 1),
                "znzz",
                "x",
                None,
                today,
            )
        assert (
            s.scalar(
                select(func.count(AuditLog.id)).where(AuditLog.action == "programmes.loan_refused")
            )
            == 1
        )
        # officers: by bank and county, by hand (2 loans, 1 firm, 800 万元)
        st = loans.statistics(s, ADMIN, today)
        assert (st["loans"], st["firms"], st["amount_wan"]) == (2, 1, 800.0)
        assert st["by_bank"] == [
            {"bank": "湖州测试银行", "loans": 2, "firms": 1, "amount_wan": 800.0}
        ]
        assert [(g["county_code"], g["loans"]) for g in st["by_county"]] == [("330502", 2)]
        assert loans.statistics(s, _scope(s, "county_nx"), today)["loans"] == 0
        # the bank sees its own loans under consent; another bank sees nothing
        assert loans.statistics(s, bank, today)["amount_wan"] == 800.0
        assert loans.statistics(s, _scope(s, "bank_other"), today)["loans"] == 0
        # after the consent expires (or is revoked) the bank sees nothing
        assert loans.statistics(s, bank, date(2027, 1, 1))["loans"] == 0
        consent = s.scalars(select(BankConsent)).one()
        consent.revoked_at = datetime(2026, 5, 1, tzinfo=UTC)
        s.commit()
        assert loans.listing(s, bank, today) == []
        # the loans are in the policy service's register, purpose zgsz (its interest subsidy)
        from industry_brain.domains.policy.service import loans as policy_loans

        frame = policy_loans(s, [ids["A"]])
        assert sorted(frame["amount"].tolist()) == [300.0, 500.0]
        assert set(frame["purpose"]) == {"zgsz"}


# -- investment structure -------------------------------------------------------------------------
def test_investment_split_averages_by_hand(sqlite_engine: Engine, tmp_path: Path) -> None:
    _store(sqlite_engine)
    with Session(sqlite_engine) as s:
        for code, county, kind, signed, planned in (
            ("T1", "330502", "tech_upgrade", date(2025, 3, 1), 1000.0),
            ("T2", "330503", "tech_upgrade", date(2025, 6, 1), 400.0),
            ("I1", "330502", "industrial", date(2026, 2, 1), 1000.0),
        ):
            s.add(
                Project(
                    code=code,
                    name=f"项目{code}",
                    investor_uscc=FIRMS[0][1],
                    county_code=county,
                    project_type=kind,
                    planned_investment=planned,
                    stage="signed",
                    planned_signed=signed,
                )
            )
        s.commit()
        investment.set_split(s, "T1", 800, 150, 50)
        s.commit()
    csv = tmp_path / "split.csv"
    csv.write_text(
        "项目代码,硬件投资（万元）,软件投资（万元）,服务投资（万元）\n"
        "T2,300,60,40\nI1,1000,0,0\nT1,-5,0,0\nNOPE,1,1,1\n",
        encoding="utf-8",
    )
    with Session(sqlite_engine) as s:
        out = investment.import_list(s, csv, "t")
        s.commit()
        assert out["splits"] == 2 and [p["row"] for p in out["problems"]] == [4, 5]
        inv = investment.structure(s, ADMIN)
        by_type = {r["type"]: r for r in inv["by_type"]}
        # technical upgrade: (800 + 300) / 2 = 550, (150 + 60) / 2 = 105, (50 + 40) / 2 = 45,
        # total (1000 + 400) / 2 = 700, software share 210 / 1400 = 0.15
        t = by_type["tech_upgrade"]
        assert (
            t["projects"],
            t["avg_hardware"],
            t["avg_software"],
            t["avg_services"],
            t["avg_total"],
            t["software_share"],
        ) == (2, 550.0, 105.0, 45.0, 700.0, 0.15)
        assert (by_type["industrial"]["avg_hardware"], by_type["industrial"]["software_share"]) == (
            1000.0,
            0.0,
        )
        assert inv["overall"]["hardware_share"] == round(2100 / 2400, 4)
        rows = {(r["county_code"], r["year"]): r for r in inv["by_county_year"]}
        assert rows[("330503", 2025)]["services_share"] == 0.1
        assert rows[("330502", 2026)]["hardware"] == 1000.0
        assert investment.structure(s, ADMIN, 2025)["overall"]["projects"] == 2
        # a county officer sees its county's projects only
        assert investment.structure(s, _scope(s, "county_nx"))["overall"]["projects"] == 1
