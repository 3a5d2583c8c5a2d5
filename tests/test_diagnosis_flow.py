"""The diagnosis assessment flow on both stores: fill in (save and resume, progress, required
answers, skip logic), submit (frozen), an assessor scoped to assigned enterprises reviews each
answer (accept / adjust / request evidence), final result by hand, every step audited, and the
result published as ``result_maturity``."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import IBError
from industry_brain.domains.diagnosis import publish, service
from industry_brain.domains.diagnosis.models import DiagnosisCertification
from industry_brain.store.models import AuditLog, Enterprise, User
from industry_brain.store.scope import PermissionDenied, scope_for

USCC_A = "91330500MA2B3C4D5B"
USCC_B = "91330502MA28C0A01P"
LIANGHUA = {  # stage self-check: stage 1 and 2 fully, stage 3 half, stage 4 not at all
    "stage.network": "yes",
    "stage.basic_software": "yes",
    "stage.design_system": "yes",
    "stage.production_system": "yes",
    "stage.systems_integrated": "yes",
    "stage.management_control": "no",
    "stage.chain_collaboration": "no",
    "stage.new_models": "no",
}


@pytest.fixture
def store(engine: Engine) -> Engine:
    with Session(engine) as s:
        ids = {}
        for uscc, name, county in ((USCC_A, "甲机械", "330502"), (USCC_B, "乙化工", "330503")):
            e = Enterprise(uscc=uscc, name=name, county_code=county, status="存续")
            s.add(e)
            s.flush()
            ids[uscc] = e.id
        for username, role, extra in (
            ("ent_a", "enterprise", {"enterprise_id": ids[USCC_A]}),
            ("ent_b", "enterprise", {"enterprise_id": ids[USCC_B]}),
            ("assessor_1", "assessor", {}),
            ("assessor_2", "assessor", {}),
            ("county_a", "county_officer", {"county_code": "330502"}),
        ):
            s.add(User(username=username, display_name=username, role=role, **extra))
        s.commit()
    return engine


def _scope(s: Session, username: str):
    return scope_for(s.scalars(select(User).where(User.username == username)).one())


def _code(fn, *args, **kw) -> str:
    with pytest.raises(IBError) as err:
        fn(*args, **kw)
    return err.value.code


def test_fill_submit_review_final_and_publish(store: Engine) -> None:
    with Session(store) as s:
        ent = _scope(s, "ent_a")
        a = service.start(s, ent, USCC_A, "lianghua", 2025)
        assert (a.questionnaire, a.version, a.status) == ("lianghua", "2023.1", "draft")
        # save part, resume: the same draft, progress counts what is answered
        half = dict(list(LIANGHUA.items())[:4])
        prog = service.save_answers(s, ent, a.id, half)
        assert (prog["answered"], prog["applicable"], prog["percent"]) == (4, 8, 50)
        assert service.start(s, ent, USCC_A, "lianghua", 2025).id == a.id
        assert _code(service.submit, s, ent, a.id) == "diagnosis.incomplete"
        assert _code(service.save_answers, s, ent, a.id, {"stage.network": "maybe"}) == (
            "diagnosis.answer_value"
        )
        service.save_answers(s, ent, a.id, LIANGHUA)
        # another enterprise sees nothing of it
        assert _code(service.save_answers, s, _scope(s, "ent_b"), a.id, {}) == (
            "diagnosis.not_found"
        )
        service.submit(s, ent, a.id)
        assert a.status == "submitted"
        assert _code(service.save_answers, s, ent, a.id, {"stage.new_models": "yes"}) == (
            "diagnosis.frozen"
        )
        # an assessor sees only assigned enterprises; the enterprise may not review
        rev = _scope(s, "assessor_1")
        assert _code(service.review, s, rev, a.id, "stage.network", "accept") == (
            "diagnosis.not_found"
        )
        with pytest.raises(PermissionDenied):
            service.review(s, ent, a.id, "stage.network", "accept")
        officer = _scope(s, "county_a")
        assert _code(service.assign, s, officer, "ent_b", USCC_A) == "diagnosis.not_assessor"
        assert _code(service.assign, s, officer, "assessor_1", USCC_B) == "enterprise.not_found"
        service.assign(s, officer, "assessor_1", USCC_A)
        assert _code(service.review, s, _scope(s, "assessor_2"), a.id, "stage.network", "accept")
        for code in LIANGHUA:
            service.review(s, rev, a.id, code, "accept")
        assert (
            _code(service.review, s, rev, a.id, "stage.management_control", "adjust", "yes")
            == "diagnosis.comment_required"
        )
        service.review(
            s, rev, a.id, "stage.management_control", "adjust", "yes", "ERP 与 MES 已联动，现场核实"
        )
        service.review(
            s, rev, a.id, "stage.systems_integrated", "request_evidence", None, "请提供接口清单"
        )
        assert _code(service.finish_review, s, rev, a.id, "意见") == "diagnosis.review_open"
        # evidence only where requested, after submission
        assert (
            _code(service.add_evidence, s, ent, a.id, "stage.network", "x.pdf", b"%PDF")
            == "diagnosis.frozen"
        )
        ev = service.add_evidence(
            s, ent, a.id, "stage.systems_integrated", "接口清单.pdf", b"%PDF-1"
        )
        assert ev.size == 6 and len(ev.sha256) == 64
        service.review(s, rev, a.id, "stage.systems_integrated", "accept")
        final = service.finish_review(
            s, rev, a.id, "两化融合处于综合集成阶段，建议推进产业链协同。"
        )
        # by hand: stage 1 = 1, stage 2 = 1, stage 3 = (1 + 1 adjusted) / 2 = 1, stage 4 = 0
        assert final.status == "final"
        assert (final.result["level"], final.result["score"]) == (3, 3.0)
        levels = {int(k): v for k, v in final.result["levels"].items()}
        assert levels == {1: 1.0, 2: 1.0, 3: 1.0, 4: 0.0}
        # the enterprise's own answer is kept as given
        assert service.answers_of(s, a.id)["stage.management_control"].value == "no"
        actions = [
            x.action
            for x in s.scalars(
                select(AuditLog).where(AuditLog.object_id == str(a.id)).order_by(AuditLog.id)
            )
            if x.action.startswith("diagnosis.")
        ]
        assert actions[:3] == ["diagnosis.start", "diagnosis.answer", "diagnosis.answer"]
        assert {"diagnosis.submit", "diagnosis.review", "diagnosis.evidence"} <= set(actions)
        assert actions[-2:] == ["diagnosis.reviewed", "diagnosis.final"]
        # certificates: a 贯标 certificate valid in 2025 for A, one expired in 2024 for B
        eid = {e.uscc: e.id for e in s.scalars(select(Enterprise))}
        for uscc, no, issued, expires in (
            (USCC_A, "GB-1", date(2023, 6, 1), date(2026, 5, 31)),
            (USCC_B, "GB-2", date(2021, 1, 1), date(2024, 12, 31)),
        ):
            s.add(
                DiagnosisCertification(
                    enterprise_id=eid[uscc],
                    uscc=uscc,
                    kind="lianghua_guanbiao",
                    certificate_no=no,
                    issued_on=issued,
                    expires_on=expires,
                    source_file="贯标名单.xlsx",
                    source_row=3,
                    actor="test",
                )
            )
        s.commit()
        run = publish.run(s, 2025, "officer")
        run_id, version = run.id, run.parameter_version
        frame, runs = publish.read(s)
    assert runs == [
        {
            "service": "diagnosis",
            "run_id": run_id,
            "year": 2025,
            "parameter_version": version,
        }
    ]
    rows = frame.set_index("enterprise_id")
    assert list(frame.columns) == [c for c, _ in publish.SCHEMA]
    a_row = rows.loc[eid[USCC_A]]
    assert (a_row["lianghua_stage"], bool(a_row["guanbiao_certified"])) == (3, True)
    assert a_row["county_code"] == "330502" and a_row["parameter_version"] == version
    assert eid[USCC_B] not in rows.index  # no assessment, certificate expired before 2025


def test_skip_logic_and_industry_applicability(store: Engine) -> None:
    with Session(store) as s:
        ent = _scope(s, "ent_a")
        a = service.start(s, ent, USCC_A, "census", 2025, industry_type="discrete")
        base = {"nc.key_processes": "10", "nc.cnc_processes": "6", "design.digital_tools": "yes"}
        prog = service.save_answers(
            s, ent, a.id, {**base, "chain.collaboration": "no", "cloud.uses_cloud": "no"}
        )
        # discrete: the process-control question does not apply; no cloud → no cloud scope
        assert (prog["applicable"], prog["missing_required"]) == (5, [])
        prog = service.save_answers(s, ent, a.id, {"cloud.uses_cloud": "yes"})
        assert prog["missing_required"] == ["cloud.scope"]
        service.save_answers(s, ent, a.id, {"cloud.scope": "business"})
        service.save_answers(s, ent, a.id, {"cloud.uses_cloud": "no"})
        answers = service.answers_of(s, a.id)
        assert answers["cloud.scope"].skipped and not answers["cloud.uses_cloud"].skipped
        service.submit(s, ent, a.id)
        assert _code(service.start, s, ent, USCC_A, "cmmm", 2025, "continuous") == (
            "diagnosis.industry_type"
        )


def test_certificate_list_import_with_lineage_and_expiry(store: Engine, tmp_path) -> None:
    from industry_brain.domains.diagnosis import certificates
    from industry_brain.store.models import ImportBatch

    path = tmp_path / "贯标名单.csv"
    path.write_text(
        "统一社会信用代码,企业名称,证书编号,发证日期,有效期至,发证机构\n"
        f"{USCC_A},甲机械,GB-2024-001,2024-03-01,2027-02-28,某认证中心\n"
        f"{USCC_B},乙化工,GB-2024-002,2024/05/01,2023-01-01,某认证中心\n"
        f"{USCC_A},甲机械,GB-2024-001,2024-03-01,2027-02-28,某认证中心\n",
        encoding="gb18030",
    )
    with Session(store) as s:
        out = certificates.import_certificates(s, path, "lianghua_guanbiao", "officer")
        s.commit()
        assert (out["certificates"], out["already_known"]) == (1, 1)
        assert [p["row"] for p in out["problems"]] == [3]  # expires before it is issued
        cert = s.scalars(select(DiagnosisCertification)).one()
        assert (cert.source_file, cert.source_row, cert.import_batch_id) == (
            "贯标名单.csv",
            2,
            out["batch_id"],
        )
        assert (cert.issued_on, cert.expires_on) == (date(2024, 3, 1), date(2027, 2, 28))
        assert s.get(Enterprise, cert.enterprise_id).uscc == USCC_A
        assert s.get(ImportBatch, out["batch_id"]).status == "partial"
        # the certificate counts for 2024–2027, not for 2023
        publish.run(s, 2025, "officer")
        publish.run(s, 2023, "officer")
        frame, _ = publish.read(s)
    by_year = {int(r["year"]): bool(r["guanbiao_certified"]) for _, r in frame.iterrows()}
    assert by_year == {2025: True}  # 2023: no certificate valid, no assessment → no row
    with Session(store) as s, pytest.raises(IBError) as err:
        certificates.import_certificates(s, path, "iso9001", "officer")
    assert err.value.code == "diagnosis.certificate_kind"
