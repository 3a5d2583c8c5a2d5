"""The carbon service on the real stores (SQLite and PostgreSQL): runs written back with their
provenance, explanations, signed codes (tampering, expiry, foreign keys), consents (grant,
revoke, expiry, scopes) with audit entries, the loan register and its statistics, products,
the improvement list, and the migration matching the models."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core.errors import ConflictError
from industry_brain.domains.carbon import access, codes, loans, products
from industry_brain.domains.carbon.errors import AccessDenied, CarbonError, CodeInvalid
from industry_brain.domains.carbon.explain import explain
from industry_brain.domains.carbon.improve import improvement_list
from industry_brain.domains.carbon.models import CarbonCode, CarbonResult, CarbonRun
from industry_brain.domains.carbon.service import run_accounting
from industry_brain.store.models import AuditLog, Base
from tests.test_carbon_accounting import YEAR, A, B, C, D, E, build_store

TODAY = date(2026, 3, 1)


@pytest.fixture
def store(engine: Engine) -> Engine:
    build_store(engine)
    run_accounting(engine, YEAR, "duckdb", actor="test")
    return engine


def _audit(s: Session, action: str) -> list[AuditLog]:
    return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_run_is_stored_with_provenance_and_explains_itself(store: Engine) -> None:
    with Session(store) as s:
        run = s.scalars(select(CarbonRun)).one()
        assert run.year == YEAR and run.engine == "duckdb" and run.batch_ids == [1]
        assert len(run.parameter_version) == 12
        assert run.counts["graded"] == 14  # A, B, C + 9 in industry 31 + D, E (X, F, G not)
        n = s.scalar(select(func.count()).select_from(CarbonResult))
        assert n == 17
        data = explain(s, A.uscc, YEAR, actor="tester")
        s.commit()
        assert data["result"]["label"] == "中碳4级" and data["run"]["id"] == run.id
        text = "\n".join(data["text"]["zh"])
        # the arithmetic, with the stored factors
        assert "原煤：1,000 吨 × 1.9003 tCO2/t = 1,900.3 tCO2（因子已核实）" in text
        assert "(5,000,000 kWh 外购（电网抄表用电量） + 500,000 kWh 自发自用) × 0.55" in text
        english = "\n".join(data["text"]["en"])  # quality tags and items as words, no codes
        assert "raw coal: 1,000 t × 1.9003 tCO2/t = 1,900.3 tCO2 (factor verified)" in english
        assert "purchased (metered grid electricity)" in english and "[V]" not in english
        assert "= 4,650.3 tCO2" in text and "4,650.3 / 3,000 万元 = 1.5501" in text
        assert "7,798.399 / 9,000" in text and "→ 4 级" in text
        grid = next(p for p in data["parameters"] if p["key"] == "carbon.grid_factor")
        assert (grid["value"], grid["region"], grid["quality"]) == (0.55, "330000", "V")
        assert "carbon.industry_level" in data["defaults"]
        lineage = {ln["item"]: ln for ln in data["lineage"]}
        assert lineage["fuel.coal_raw"]["facts"][0]["file"] == "hand.csv"
        assert lineage["value_added"]["value"] == 3000
        imp = data["improvement"]  # grade 4 → improvement block
        assert imp["reduction_to_average"] == pytest.approx(4650.3 - 7798.399 / 9000 * 3000)
        shares = {x["carrier"]: x["share"] for x in imp["structure"]}
        # coal 1900.3 / 4925.3 = 0.3858; electricity 3025 / 4925.3 = 0.6142
        assert shares["coal"] == pytest.approx(0.3858) and shares["electricity"] == pytest.approx(
            0.6142
        )
        below = explain(s, D.uscc, YEAR)
        assert "非公开标准" in below["method_text"]["zh"]
        assert "carbon.below.denominator" in below["defaults"]
        assert "carbon.below.level_bands" in below["defaults"]
        assert [a.object_id for a in _audit(s, "carbon.explain")] == [A.uscc, D.uscc]


def test_improvement_list_covers_grades_4_and_5(store: Engine) -> None:
    with Session(store) as s:
        data = improvement_list(s, YEAR)
    rows = {r["uscc"]: r for r in data["rows"]}
    assert A.uscc in rows and D.uscc in rows and B.uscc not in rows
    assert {r["grade"] for r in data["rows"]} == {4, 5}
    a = rows[A.uscc]
    # gap to average = 1.5501 − 0.86648878 = 0.6836
    assert a["gap_to_average"] == pytest.approx(0.6836, abs=1e-4)
    assert a["reduction_to_average"] == pytest.approx(4650.3 - 7798.399 / 9000 * 3000)


def test_code_signature_tampering_and_expiry(store: Engine) -> None:
    codes.generate_key()
    with Session(store) as s:
        code = codes.issue_code(s, A.uscc, actor="tester", today=TODAY)
        s.commit()
        assert s.scalars(select(CarbonCode)).one().payload == code.payload
        assert _audit(s, "carbon.code.issue")[0].object_id == A.uscc
    assert code.colour == "#F28C28" and code.grade == 4 and code.level == "中碳"
    assert code.expires == TODAY + timedelta(days=365)
    p = code.payload
    assert p.startswith(f"IBC1;uscc={A.uscc};year=2025;scale=above;level=M;grade=4;")
    ok = codes.verify_payload(p, today=TODAY)
    assert (ok.uscc, ok.grade, ok.level, ok.expires) == (A.uscc, 4, "M", code.expires)
    # any change to a signed field breaks the signature
    for old, new in (
        ("grade=4", "grade=1"),
        ("level=M", "level=L"),
        ("year=2025", "year=2024"),
        ("scale=above", "scale=below"),
        (f"uscc={A.uscc}", f"uscc={B.uscc}"),
        ("expires=2027-03-01", "expires=2099-03-01"),
    ):
        with pytest.raises(CodeInvalid) as exc:
            codes.verify_payload(p.replace(old, new), today=TODAY)
        assert exc.value.code == "carbon.code_bad_signature", old
    sig = p.rsplit("=", 1)[1]
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(CodeInvalid, match="bad_signature"):
        codes.verify_payload(p[: -len(sig)] + flipped, today=TODAY)
    # dates: valid on the last day, expired the day after, not valid before issue
    assert codes.verify_payload(p, today=code.expires).grade == 4
    with pytest.raises(CodeInvalid) as exc:
        codes.verify_payload(p, today=code.expires + timedelta(days=1))
    assert exc.value.code == "carbon.code_expired"
    with pytest.raises(CodeInvalid) as exc:
        codes.verify_payload(p, today=TODAY - timedelta(days=1))
    assert exc.value.code == "carbon.code_not_yet_valid"
    # a key that did not sign it, and syntax errors
    other = codes.Ed25519PrivateKey.generate()
    with pytest.raises(CodeInvalid) as exc:
        codes.verify_payload(p, {code.kid: other.public_key()}, today=TODAY)
    assert exc.value.code == "carbon.code_bad_signature"
    with pytest.raises(CodeInvalid) as exc:
        codes.verify_payload(p, {}, today=TODAY)
    assert exc.value.code == "carbon.code_unknown_key"
    for bad in ("hello", p.replace("IBC1", "IBC2"), p.replace("grade=4", "grade=9")):
        with pytest.raises(CodeInvalid) as exc:
            codes.verify_payload(bad, today=TODAY)
        assert exc.value.code == "carbon.code_malformed"
    # a rotated key: old codes still verify, new codes carry the new kid
    codes.generate_key()
    with Session(store) as s:
        newer = codes.issue_code(s, C.uscc, today=TODAY)
    assert newer.kid != code.kid and newer.colour == "#1B7F3B"
    assert codes.verify_payload(p, today=TODAY).kid == code.kid
    # the private key file is readable by its owner only
    mode = (codes.keys_dir() / f"{code.kid}.key.pem").stat().st_mode & 0o777
    assert mode == 0o600


def test_consent_grant_revoke_expiry_with_audit(store: Engine) -> None:
    with Session(store) as s:
        bank = access.get_user(s, "bank_huzhou", "bank")
        with pytest.raises(AccessDenied) as exc:
            access.bank_grade(s, bank, A.uscc, today=TODAY)
        assert exc.value.code == "carbon.consent_missing"
        # only the enterprise's own user grants
        with pytest.raises(AccessDenied, match="consent_not_owner"):
            access.grant(s, A.uscc, "bank_huzhou", ["grade"], TODAY, by_username="ent_D")
        with pytest.raises(CarbonError, match="consent_expiry"):
            access.grant(s, A.uscc, "bank_huzhou", ["grade"], TODAY, today=TODAY)
        with pytest.raises(CarbonError, match="consent_scope"):
            access.grant(s, A.uscc, "bank_huzhou", ["tax"], TODAY + timedelta(30), today=TODAY)
        c = access.grant(
            s, A.uscc, "bank_huzhou", ["grade"], TODAY + timedelta(days=30), today=TODAY
        )
        s.commit()
        data = access.bank_grade(s, bank, A.uscc, today=TODAY)
        assert (data["grade"], data["label"], data["year"]) == (4, "中碳4级", YEAR)
        assert "co2_coal" not in data  # banks see the marks, not the inputs
        with pytest.raises(AccessDenied) as exc:  # scope history not granted
            access.bank_history(s, bank, A.uscc, today=TODAY)
        assert exc.value.code == "carbon.consent_scope_denied"
        with pytest.raises(ConflictError):
            access.grant(s, A.uscc, "bank_huzhou", ["history"], TODAY + timedelta(9), today=TODAY)
        # another bank sees nothing
        icbc = access.get_user(s, "bank_icbc", "bank")
        with pytest.raises(AccessDenied, match="consent_missing"):
            access.bank_grade(s, icbc, A.uscc, today=TODAY)
        # the last day of the consent is included, the next day is not
        assert access.bank_grade(s, bank, A.uscc, today=TODAY + timedelta(days=30))["grade"] == 4
        with pytest.raises(AccessDenied) as exc:
            access.bank_grade(s, bank, A.uscc, today=TODAY + timedelta(days=31))
        assert exc.value.code == "carbon.consent_expired"
        # revoke: by someone else refused, by the enterprise at once effective
        with pytest.raises(AccessDenied):
            access.revoke(s, c.id, "ent_D")
        access.revoke(s, c.id)
        s.commit()
        with pytest.raises(AccessDenied) as exc:
            access.bank_grade(s, bank, A.uscc, today=TODAY)
        assert exc.value.code == "carbon.consent_revoked"
        states = {r["id"]: r["state"] for r in access.list_consents(s, A.uscc, today=TODAY)}
        assert states == {c.id: "revoked"}
        # an unknown enterprise is refused like a missing consent (no existence oracle)
        with pytest.raises(AccessDenied, match="consent_missing"):
            access.bank_grade(s, bank, "91330502MA2CB9999P", today=TODAY)
        reads = [
            (a.actor, a.object_id, a.detail["allowed"], a.detail.get("reason"))
            for a in _audit(s, "carbon.bank.grade")
        ]
        assert reads == [
            ("bank_huzhou", A.uscc, False, "carbon.consent_missing"),
            ("bank_huzhou", A.uscc, True, None),
            ("bank_icbc", A.uscc, False, "carbon.consent_missing"),
            ("bank_huzhou", A.uscc, True, None),
            ("bank_huzhou", A.uscc, False, "carbon.consent_expired"),
            ("bank_huzhou", A.uscc, False, "carbon.consent_revoked"),
            ("bank_huzhou", "91330502MA2CB9999P", False, "carbon.consent_missing"),
        ]
        assert [a.detail["reason"] for a in _audit(s, "carbon.bank.history")] == [
            "carbon.consent_scope_denied"
        ]
        assert len(_audit(s, "carbon.consent.grant")) == 1
        assert len(_audit(s, "carbon.consent.revoke")) == 1


def test_loans_register_and_statistics(store: Engine) -> None:
    with Session(store) as s:
        hz = access.get_user(s, "bank_huzhou", "bank")
        icbc = access.get_user(s, "bank_icbc", "bank")
        with pytest.raises(AccessDenied):  # no consent, no loan
            loans.report_loan(s, hz, A.uscc, "L0", 100, 3.5, TODAY, today=TODAY)
        until = TODAY + timedelta(days=90)
        for bank in ("bank_huzhou", "bank_icbc"):
            access.grant(s, A.uscc, bank, ["grade"], until, today=TODAY)
            access.grant(s, D.uscc, bank, ["grade", "history"], until, today=TODAY)
        s.commit()
        # A is grade 4: HZB-ZXD (limit 500) fits, HZB-TXD (grades 1-3) does not
        report = partial(loans.report_loan, s, today=TODAY)
        report(hz, A.uscc, "HZ-1", 500, 3.75, TODAY, 4, product_code="HZB-ZXD")
        with pytest.raises(CarbonError, match="loan_product_grade"):
            report(hz, A.uscc, "HZ-2", 100, 3.5, TODAY, product_code="HZB-TXD")
        with pytest.raises(CarbonError, match="loan_over_limit"):
            report(hz, A.uscc, "HZ-3", 501, 3.5, TODAY, product_code="HZB-ZXD")
        with pytest.raises(CarbonError, match="loan_grade_mismatch"):
            report(hz, A.uscc, "HZ-4", 100, 3.5, TODAY, grade=2)
        with pytest.raises(ConflictError):
            report(hz, A.uscc, "HZ-1", 100, 3.5, TODAY)
        report(hz, D.uscc, "HZ-5", 300, 3.95, TODAY)  # D: grade 4 (规下)
        report(icbc, D.uscc, "IC-1", 200, 4.10, TODAY)
        s.commit()
        by_grade = loans.loan_stats(s, "grade")
        by_bank = loans.loan_stats(s, "bank")
        by_county = loans.loan_stats(s, "county")
        assert len(loans.list_loans(s, "bank_icbc")) == 1
        assert len(_audit(s, "carbon.loan.report")) == 3
    # 3 loans, 500 + 300 + 200 = 1000 万元, all grade 4;
    # weighted rate = (500 × 3.75 + 300 × 3.95 + 200 × 4.10) / 1000 = 3.88
    assert by_grade["total"] == {"loans": 3, "amount_wan": 1000.0, "grade_1_2_loans": 0}
    assert by_grade["rows"] == [
        {"grade": 4, "name": "4", "loans": 3, "amount_wan": 1000.0, "mean_rate_pct": 3.88}
    ]
    # 湖州银行: 2 loans 800 万元, rate (1875 + 1185) / 800 = 3.825; 工行: 1 loan 200 at 4.10
    assert [
        (r["bank"], r["loans"], r["amount_wan"], r["mean_rate_pct"]) for r in by_bank["rows"]
    ] == [
        ("bank_huzhou", 2, 800.0, 3.825),
        ("bank_icbc", 1, 200.0, 4.1),
    ]
    assert by_county["rows"][0]["county"] == "330502" and by_county["rows"][0]["name"] == "吴兴区"


def test_products_by_grade(store: Engine) -> None:
    with Session(store) as s:
        a = products.qualifying(s, A.uscc)  # grade 4
        c = products.qualifying(s, C.uscc)  # grade 1
    assert {(p["bank"], p["code"]) for p in a["products"]} == {
        ("bank_huzhou", "HZB-ZXD"),
        ("bank_rcb", "RCB-TXD"),
    }
    assert {p["code"] for p in c["products"]} == {"HZB-TXD", "ICBC-LXD", "RCB-TXD"}
    hz = next(p for p in c["products"] if p["code"] == "HZB-TXD")
    assert (hz["rate_discount_bp"], hz["limit_wan"]) == (60, 3000)
    assert a["quality"] == "DEFAULT"


def test_adjustments_change_the_next_run(store: Engine) -> None:
    from industry_brain.domains.carbon.service import result_for, set_adjustment
    from industry_brain.store.enterprises import get_by_uscc

    with Session(store) as s:
        set_adjustment(s, E.uscc, YEAR, "sink", 16.2026, "林业碳汇证书", "tester")
        s.commit()
    run_accounting(store, YEAR, "duckdb")
    with Session(store) as s:
        res = result_for(s, get_by_uscc(s, E.uscc), YEAR)
        # E: 116.2026 − 16.2026 sink = 100 t; L' = 100 / 500 = 0.2; 碳中和率 16.2026 / 116.2026
        assert res.co2_net == pytest.approx(100.0, rel=1e-12)
        assert res.intensity == 0.2
        assert res.neutral_rate == pytest.approx(16.2026 / 116.2026, rel=1e-12)
        assert s.scalar(select(func.count()).select_from(CarbonRun)) == 2


def test_carbon_tables_match_the_migration(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert [d for d in diff if "carbon_" in repr(d)] == []
    tables = {t for t in Base.metadata.tables if t.startswith("carbon_")}
    with engine.connect() as conn:
        from sqlalchemy import inspect

        assert tables <= set(inspect(conn).get_table_names())
