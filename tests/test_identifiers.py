"""标识解析 secondary node (issue 20) on SQLite and PostgreSQL: prefix application and approval,
ownership refusals (audited), versioned templates, registration, concurrency (two registrations
of one suffix: one wins), update, withdrawal, each resolution status, bulk atomicity."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.core.errors import ConflictError, NotFoundError, ValidationError
from industry_brain.domains.identifiers import batteries, service
from industry_brain.domains.identifiers import battery as bcode
from industry_brain.domains.identifiers.models import Identifier, IdUpload, IdUploadRow
from industry_brain.store.models import AuditLog, Enterprise
from industry_brain.store.scope import PermissionDenied

CONFIG = service.NodeConfig(
    prefix="88.118",
    name_zh="测试节点",
    name_en="test node",
    default_ttl=600,
    nodes={"88.120": "http://127.0.0.1:9"},
)
A_USCC = uscc.make("91330502MA2B00001")
B_USCC = uscc.make("91330502MA2B00002")


def _setup(engine: Engine) -> tuple[service.Actor, service.Actor]:
    """Two enterprises, A owning 88.118.8 (approved) and B owning 88.118.9 (approved)."""
    with Session(engine) as s:
        a = Enterprise(uscc=A_USCC, name="甲电池公司", county_code="330522")
        b = Enterprise(uscc=B_USCC, name="乙服务商", county_code="330522")
        s.add_all([a, b])
        s.commit()
        actor_a = service.Actor("ent_a", "enterprise", a.id)
        actor_b = service.Actor("ent_b", "enterprise", b.id)
        officer = service.Actor("officer", "city_officer")
        service.ensure_builtin_templates(s)
        service.apply_prefix(s, actor_a, A_USCC, "88.118.8", CONFIG)
        service.apply_prefix(s, actor_b, B_USCC, "88.118.9", CONFIG)
        service.decide_prefix(s, officer, "88.118.8", True)
        service.decide_prefix(s, officer, "88.118.9", True)
    return actor_a, actor_b


PRODUCT = {"name": "童装", "model": "T-1", "customer": "某商场"}


def test_prefix_application_checks_the_registry(engine: Engine) -> None:
    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        # an unknown USCC fails the real-name check
        with pytest.raises(NotFoundError) as e:
            service.apply_prefix(s, actor_a, uscc.make("91330502MA2B00003"), "88.118.77", CONFIG)
        assert e.value.code == "ids.uscc_unknown"
        # a prefix under another node is refused
        with pytest.raises(ValidationError) as e:
            service.apply_prefix(s, actor_a, A_USCC, "88.120.8", CONFIG)
        assert e.value.code == "ids.prefix_other_node"
        # an enterprise user applying in another's name is refused and audited
        with pytest.raises(PermissionDenied):
            service.apply_prefix(s, actor_a, B_USCC, "88.118.10", CONFIG)
        # a pending prefix cannot be written under
        service.apply_prefix(s, actor_a, A_USCC, "88.118.80", CONFIG)
        with pytest.raises(NotFoundError) as e:
            service.register(s, actor_a, "88.118.80/X1", "product", PRODUCT, CONFIG)
        assert e.value.code == "ids.prefix_unknown"
        with pytest.raises(ConflictError):
            service.apply_prefix(s, actor_a, A_USCC, "88.118.80", CONFIG)


def test_ownership_refusals_are_audited(engine: Engine) -> None:
    actor_a, actor_b = _setup(engine)
    with Session(engine) as s:
        service.register(s, actor_a, "88.118.8/P001", "product", PRODUCT, CONFIG)
        officer = service.Actor("officer", "city_officer")
        for who in (actor_b, officer):  # another enterprise; an officer without delegation
            with pytest.raises(PermissionDenied) as e:
                service.register(s, who, "88.118.8/P002", "product", PRODUCT, CONFIG)
            assert e.value.code == "ids.not_owner"
            with pytest.raises(PermissionDenied):
                service.update(s, who, "88.118.8/P001", {"name": "x", "model": "y"}, CONFIG)
            with pytest.raises(PermissionDenied):
                service.withdraw(s, who, "88.118.8/P001")
        refused = s.scalars(select(AuditLog).where(AuditLog.action == "ids.refused")).all()
        assert [(r.actor, r.detail["attempt"]) for r in refused] == [
            ("ent_b", "register"),
            ("ent_b", "update"),
            ("ent_b", "withdraw"),
            ("officer", "register"),
            ("officer", "update"),
            ("officer", "withdraw"),
        ]
        assert s.scalar(select(func.count()).select_from(Identifier)) == 1
        # the records are untouched
        res = service.resolve(s, "88.118.8/P001", CONFIG, restricted_ok=True)
        assert [v["data"] for v in res.body["values"]] == ["童装", "T-1", "某商场"]


def test_template_versions_keep_old_records_valid(engine: Engine) -> None:
    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        with pytest.raises(ValidationError) as e:
            service.register(s, actor_a, "88.118.8/B1", "batch", {"product": "p"}, CONFIG)
        assert e.value.code == "ids.template_mismatch"
        with pytest.raises(ValidationError):
            service.put_template(s, "officer", "batch", {"type": "object", "required": 3})
        old = service.register(
            s,
            actor_a,
            "88.118.8/B1",
            "batch",
            {"product": "p", "batch": "20261201", "quantity": 5},
            CONFIG,
        )
        # version 2 requires a new field: the old identifier still resolves and updates
        # against version 1, a new registration needs the field
        schema = service.builtin_schema("batch")
        schema["required"] = [*schema["required"], "produced"]
        v2 = service.put_template(s, "officer", "batch", schema)
        assert v2.version == 2
        res = service.resolve(s, "88.118.8/B1", CONFIG)
        assert res.status == 200 and res.body["template"]["version"] == 1
        service.update(
            s,
            actor_a,
            "88.118.8/B1",
            {"product": "p", "batch": "20261201", "quantity": 6},
            CONFIG,
        )
        with pytest.raises(ValidationError):
            service.register(
                s,
                actor_a,
                "88.118.8/B2",
                "batch",
                {"product": "p", "batch": "b", "quantity": 1},
                CONFIG,
            )
        new = service.register(
            s,
            actor_a,
            "88.118.8/B2",
            "batch",
            {"product": "p", "batch": "b", "quantity": 1, "produced": "2026-12-01"},
            CONFIG,
        )
        assert (old.template_id, new.template_id) == (
            service.template(s, "batch", 1).id,
            v2.id,
        )


def test_each_resolution_status(engine: Engine) -> None:
    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        service.register(s, actor_a, "88.118.8/P001", "product", PRODUCT, CONFIG)
        ok = service.resolve(s, "88.118.8/P001", CONFIG)
        assert ok.status == 200
        # public values only: the restricted customer is hidden without a token
        assert [(v["index"], v["type"], v["permission"]) for v in ok.body["values"]] == [
            (1, "name", "public"),
            (2, "model", "public"),
        ]
        assert ok.body["restricted_hidden"] == 1
        assert ok.ttl == 86400  # the product template's x-ttl
        full = service.resolve(s, "88.118.8/P001", CONFIG, restricted_ok=True)
        assert full.body["values"][2] == {
            **full.body["values"][2],
            "type": "customer",
            "data": "某商场",
            "permission": "restricted",
        }
        assert service.resolve(s, "88.118.8", CONFIG).status == 400
        assert service.resolve(s, "88.118.8/bad suffix", CONFIG).status == 400
        assert service.resolve(s, "88.118.8/P999", CONFIG).status == 404
        other = service.resolve(s, "88.120.5/X", CONFIG)
        assert other.status == 303
        assert other.location == "http://127.0.0.1:9/api/v1/ids/resolve/88.120.5/X"
        assert service.resolve(s, "88.999.5/X", CONFIG).status == 404
        service.withdraw(s, actor_a, "88.118.8/P001", "停产")
        gone = service.resolve(s, "88.118.8/P001", CONFIG)
        assert gone.status == 410
        assert [h["action"] for h in gone.body["history"]] == ["registered", "withdrawn"]
        assert gone.body["history"][1]["detail"] == {"reason": "停产"}
        with pytest.raises(ConflictError):
            service.withdraw(s, actor_a, "88.118.8/P001")
        # a withdrawn suffix is not registered again
        with pytest.raises(ConflictError):
            service.register(s, actor_a, "88.118.8/P001", "product", PRODUCT, CONFIG)


def test_two_concurrent_registrations_one_wins(engine: Engine) -> None:
    actor_a, _ = _setup(engine)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(model: str) -> None:
        with Session(engine) as s:
            barrier.wait()
            try:
                service.register(
                    s, actor_a, "88.118.8/RACE", "product", {"name": "n", "model": model}, CONFIG
                )
                outcomes.append("won")
            except ConflictError as exc:
                outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(m,)) for m in ("M1", "M2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ids.duplicate", "won"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Identifier)) == 1
        ident = s.scalar(select(Identifier))
        recs = service.values_of(ident.vals, None)
        assert len(recs) == 2  # the winner's records only


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_bulk_is_all_or_nothing_with_row_and_column(engine: Engine) -> None:
    actor_a, actor_b = _setup(engine)
    with Session(engine) as s:
        service.register(
            s,
            actor_a,
            "88.118.8/B0",
            "batch",
            {"product": "p", "batch": "b", "quantity": 1},
            CONFIG,
        )
        bad = _csv(
            "suffix,product,batch,quantity",
            "B1,布料,2026A,10",
            "B2,布料,2026B,zero",  # row 3: quantity not an integer
            "B1,布料,2026C,3",  # row 4: duplicates row 2
            "B0,布料,2026D,3",  # row 5: already registered
            "b d,布料,2026E,3",  # row 6: bad suffix
        )
        rep = service.bulk(
            s, actor_a, "88.118.8", "b.csv", service.read_rows("b.csv", bad), "batch", CONFIG
        )
        assert rep.status == "failed" and rep.rows == 5
        assert [(p["row"], p["column"], p["code"]) for p in rep.problems] == [
            (3, "quantity", "ids.template_mismatch"),
            (4, "suffix", "ids.duplicate_in_file"),
            (5, "suffix", "ids.duplicate"),
            (6, "suffix", "ids.bad_suffix"),
        ]
        # nothing went live, nothing stays staged
        assert s.scalar(select(func.count()).select_from(Identifier)) == 1
        assert s.scalar(select(func.count()).select_from(IdUploadRow)) == 0
        # another enterprise's prefix: refused before anything is staged
        with pytest.raises(PermissionDenied):
            service.bulk(
                s, actor_b, "88.118.8", "b.csv", service.read_rows("b.csv", bad), "batch", CONFIG
            )
        good = _csv("suffix,product,batch,quantity", *(f"G{i},布料,L{i},{i}" for i in range(1, 8)))
        rep = service.bulk(
            s, actor_a, "88.118.8", "g.csv", service.read_rows("g.csv", good), "batch", CONFIG
        )
        assert (rep.status, rep.rows, rep.problems) == ("live", 7, [])
        assert s.scalar(select(func.count()).select_from(Identifier)) == 8
        res = service.resolve(s, "88.118.8/G7", CONFIG)
        assert [(v["type"], v["data"]) for v in res.body["values"]] == [
            ("product", "布料"),
            ("batch", "L7"),
            ("quantity", 7),
        ]
        assert s.get(IdUpload, rep.upload_id).status == "live"


def test_bulk_clash_with_the_store_in_a_later_batch_keeps_nothing(engine: Engine) -> None:
    """The live bulk path writes valid rows batch by batch (20,000 a batch) before the file
    ends: a suffix already registered, met in the second batch, fails the upload with its row,
    and the first batch's 20,000 rows are rolled back with it; the same file without that row
    goes live whole."""
    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        service.register(
            s, actor_a, "88.118.8/K20003", "batch", {"product": "p", "batch": "b", "quantity": 1},
            CONFIG,
        )  # fmt: skip
        lines = [f"K{i},布,L,{i % 9 + 1}" for i in range(20_010)]
        bad = _csv("suffix,product,batch,quantity", *lines)
        rep = service.bulk(
            s, actor_a, "88.118.8", "k.csv", service.read_rows("k.csv", bad), "batch", CONFIG
        )
        # K20003 is the file's 20,004th data row: row 20,005 counting the header
        assert (rep.status, rep.rows) == ("failed", 20_010)
        assert [(p["row"], p["code"], p["value"]) for p in rep.problems] == [
            (20_005, "ids.duplicate", "K20003")
        ]
        assert s.scalar(select(func.count()).select_from(Identifier)) == 1
        assert s.get(IdUpload, rep.upload_id).status == "failed"
        del lines[20_003]
        rep = service.bulk(
            s, actor_a, "88.118.8", "k.csv",
            service.read_rows("k.csv", _csv("suffix,product,batch,quantity", *lines)),
            "batch", CONFIG,
        )  # fmt: skip
        assert (rep.status, rep.rows, rep.problems) == ("live", 20_009, [])
        assert s.scalar(select(func.count()).select_from(Identifier)) == 20_010
        res = service.resolve(s, "88.118.8/K20009", CONFIG, log=False)
        assert [v["data"] for v in res.body["values"]] == ["布", "L", 20_009 % 9 + 1]
        assert [h["action"] for h in service.history(s, res_id(s, "88.118.8/K20009"))] == [
            "registered"
        ]


def res_id(s: Session, text: str) -> int:
    return service.find(s, text).id


def test_bulk_xlsx(engine: Engine, tmp_path) -> None:
    from openpyxl import Workbook

    actor_a, _ = _setup(engine)
    wb = Workbook()
    ws = wb.active
    ws.append(["suffix", "name", "model", "power_kw"])
    ws.append(["EQ1", "注塑机", "HX-200", 55.5])
    ws.append(["EQ2", "", "HX-300", -1])  # row 3: name missing, power negative
    path = tmp_path / "eq.xlsx"
    wb.save(path)
    with Session(engine) as s:
        rep = service.bulk(
            s,
            actor_a,
            "88.118.8",
            "eq.xlsx",
            service.read_rows("eq.xlsx", path.read_bytes()),
            "equipment",
            CONFIG,
        )
        assert rep.status == "failed"
        assert sorted((p["row"], p["column"]) for p in rep.problems) == [
            (3, "name"),
            (3, "power_kw"),
        ]
        assert s.scalar(select(func.count()).select_from(Identifier)) == 0


def test_battery_chain_and_traceability(engine: Engine) -> None:
    actor_a, actor_b = _setup(engine)
    day = date(2026, 3, 15)
    pack = bcode.generate("A1B", "P", "B", "01", "HZ00001", day, 1)
    modules = [bcode.generate("A1B", "M", "B", "01", "HZ00001", day, i) for i in (1, 2)]
    cells = [bcode.generate("A1B", "C", "B", "02", "HZ00001", day, i) for i in range(1, 5)]
    with Session(engine) as s:
        batteries.register(s, actor_a, "88.118.8", pack, day, CONFIG)
        for m in modules:
            batteries.register(s, actor_a, "88.118.8", m, day, CONFIG, parent=pack)
        for i, c in enumerate(cells):
            batteries.register(s, actor_a, "88.118.8", c, day, CONFIG, parent=modules[i // 2])
        with pytest.raises(ValidationError):  # a pack inside a cell
            batteries.register(
                s,
                actor_a,
                "88.118.8",
                bcode.generate("A1B", "P", "B", "01", "HZ00001", day, 2),
                day,
                CONFIG,
                parent=cells[0],
            )
        with pytest.raises(PermissionDenied):
            batteries.event(
                s, actor_b, pack, "installed", date(2026, 4, 1), vin="LSVAB2BR1NN000001"
            )
        batteries.event(s, actor_a, pack, "installed", date(2026, 4, 1), vin="LSVAB2BR1NN000001")
        with pytest.raises(ConflictError):  # backwards
            batteries.event(s, actor_a, pack, "packed", date(2026, 4, 2))
        batteries.event(s, actor_a, cells[3], "retired", date(2030, 5, 1))
        second = bcode.generate("A1B", "C", "B", "02", "SL00001", date(2030, 6, 1), 1)
        batteries.register(
            s, actor_a, "88.118.8", second, date(2030, 6, 1), CONFIG, original=cells[3]
        )

        t = batteries.trace(s, pack)
        assert t["children"] == sorted(modules)
        assert t["cells"] == sorted(cells)
        assert t["vins"] == ["LSVAB2BR1NN000001"]
        c = batteries.trace(s, cells[3])
        assert c["parents"] == [modules[1], pack]
        assert c["vins"] == ["LSVAB2BR1NN000001"]  # went with its pack
        assert [e["event"] for e in c["events"]] == ["produced", "packed", "retired", "second_life"]
        assert c["second_life"] == [second]
        assert batteries.trace(s, second)["original"] == [cells[3]]
        assert batteries.by_vin(s, "LSVAB2BR1NN000001") == [pack]
        # the battery resolves through the node
        res = service.resolve(s, f"88.118.8/{second}", CONFIG)
        assert res.status == 200
        assert {v["type"]: v["data"] for v in res.body["values"]}["original"] == cells[3]


def test_statistics(engine: Engine) -> None:
    from datetime import UTC, datetime

    from industry_brain.domains.identifiers import stats

    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        for i in range(3):
            service.register(s, actor_a, f"88.118.8/S{i}", "product", PRODUCT, CONFIG)
        service.register(
            s,
            actor_a,
            "88.118.8/Q1",
            "batch",
            {"product": "p", "batch": "b", "quantity": 2},
            CONFIG,
        )
        service.withdraw(s, actor_a, "88.118.8/S0")
        for text in ("88.118.8/S1", "88.118.8/S1", "88.118.8/S0", "88.118.8/NONE", "bad"):
            service.resolve(s, text, CONFIG)
        out = stats.summary(s)
    today = datetime.now(UTC).date().isoformat()
    assert (out["identifiers"], out["live"], out["withdrawn"]) == (4, 3, 1)
    assert (out["prefixes_approved"], out["prefixes_active"]) == (2, 1)  # 88.118.9 has none
    assert out["registrations_by_day"] == [{"day": today, "count": 4}]
    assert out["registrations_by_enterprise"] == [
        {"uscc": A_USCC, "name": "甲电池公司", "count": 4}
    ]
    assert out["registrations_by_template"] == [
        {"template": "batch", "count": 1},
        {"template": "product", "count": 3},
    ]
    # "bad" is a 400 answered before any prefix is known: not logged
    assert out["resolutions_by_day"] == [
        {"day": today, "by_status": {"200": 2, "404": 1, "410": 1}}
    ]
    assert out["resolutions"] == 4


def test_resolution_log_is_written_in_batches(engine: Engine) -> None:
    from industry_brain.domains.identifiers.models import IdResolution

    actor_a, _ = _setup(engine)
    log = service.ResolutionLog(max_pending=3, max_age=3600)
    with Session(engine) as s:
        service.register(s, actor_a, "88.118.8/P001", "product", PRODUCT, CONFIG)
        for text in ("88.118.8/P001", "88.118.8/NONE"):
            service.resolve(s, text, CONFIG, log=log)
        assert s.scalar(select(func.count()).select_from(IdResolution)) == 0
        service.resolve(s, "88.120.5/X", CONFIG, log=log)  # the third: written with the others
        rows = s.execute(select(IdResolution.prefix, IdResolution.status)).all()
        assert sorted(rows) == [("88.118.8", 200), ("88.118.8", 404), ("88.120.5", 303)]


def test_cockpit_section_is_scoped(engine: Engine) -> None:
    from industry_brain.contract import services
    from industry_brain.domains.identifiers import web
    from industry_brain.store.scope import Scope

    services()  # the service's permissions join the platform's table
    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        for i in range(3):
            service.register(s, actor_a, f"88.118.8/S{i}", "product", PRODUCT, CONFIG)
        service.withdraw(s, actor_a, "88.118.8/S2")
        service.resolve(s, "88.118.8/S0", CONFIG)
        city = web.cockpit_section(s, Scope(1, "city", "city_officer"))
        rows = {r[1]: r[2] for r in city["rows"]}
        assert (rows["live identifiers"], rows["withdrawn identifiers"]) == ("2", "1")
        assert (rows["active enterprise prefixes"], rows["approved prefixes"]) == ("1", "2")
        assert rows["resolutions"] == "1"
        # the county view: 长兴 330522 sees them, 吴兴 330502 has none; an enterprise no section
        county = web.cockpit_section(s, Scope(2, "cx", "county_officer", county_code="330522"))
        assert county["rows"] == city["rows"]
        assert (
            web.cockpit_section(s, Scope(3, "wx", "county_officer", county_code="330502")) is None
        )
        assert web.cockpit_section(s, Scope(4, "e", "enterprise", enterprise_id=1)) is None


def test_provider_delegation_expiry_and_revocation(engine: Engine) -> None:
    """A provider user writes under an enterprise's prefix only while delegated: refused (and
    audited) before the grant, allowed during it, refused after revocation and after expiry;
    only the owner grants or revokes, and another enterprise stays refused."""
    from datetime import UTC, datetime, timedelta

    from industry_brain.domains.identifiers.models import IdDelegation
    from industry_brain.store.models import User

    actor_a, actor_b = _setup(engine)
    with Session(engine) as s:
        user = User(username="provider_x", display_name="某服务商", role="provider")
        s.add(user)
        s.commit()
        prov = service.Actor("provider_x", "provider", None, user.id)
        later = datetime.now(UTC) + timedelta(days=30)
        with pytest.raises(PermissionDenied):  # no grant yet
            service.register(s, prov, "88.118.8/D001", "product", PRODUCT, CONFIG)
        with pytest.raises(PermissionDenied):  # another enterprise cannot grant on A's prefix
            service.delegate(s, actor_b, "88.118.8", "provider_x", later)
        with pytest.raises(NotFoundError) as e:  # only provider users receive grants
            service.delegate(s, actor_a, "88.118.8", "nobody", later)
        assert e.value.code == "ids.provider_unknown"
        with pytest.raises(ValidationError):
            service.delegate(s, actor_a, "88.118.8", "provider_x", datetime.now(UTC))
        service.delegate(s, actor_a, "88.118.8", "provider_x", later)
        service.register(s, prov, "88.118.8/D001", "product", PRODUCT, CONFIG)
        service.update(s, prov, "88.118.8/D001", {"name": "新名", "model": "T-2"}, CONFIG)
        with pytest.raises(PermissionDenied):  # the grant covers 88.118.8 only, not B's prefix
            service.register(s, prov, "88.118.9/D002", "product", PRODUCT, CONFIG)
        with pytest.raises(PermissionDenied):  # a provider cannot pass its rights on
            service.delegate(s, prov, "88.118.8", "provider_x", later)
        assert [d["state"] for d in service.delegations(s, [1, 2])] == ["live"]
        assert service.revoke_delegation(s, actor_a, "88.118.8", "provider_x") == 1
        with pytest.raises(PermissionDenied):
            service.withdraw(s, prov, "88.118.8/D001")
        # a second grant that has run out: the row's end is moved into the past by hand
        service.delegate(s, actor_a, "88.118.8", "provider_x", later)
        service.register(s, prov, "88.118.8/D003", "product", PRODUCT, CONFIG)
        grant = s.scalars(select(IdDelegation).order_by(IdDelegation.id.desc())).first()
        grant.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.commit()
        with pytest.raises(PermissionDenied):
            service.withdraw(s, prov, "88.118.8/D003")
        assert [d["state"] for d in service.delegations(s, [1])] == ["expired", "revoked"]

        refused = s.scalars(
            select(AuditLog).where(AuditLog.action == "ids.refused").order_by(AuditLog.id)
        ).all()
        assert [(r.actor, r.detail["attempt"], r.detail["refusal"]) for r in refused] == [
            ("provider_x", "register", "no_delegation"),
            ("ent_b", "delegate", "not_owner"),
            ("provider_x", "register", "no_delegation"),
            ("provider_x", "delegate", "not_owner"),
            ("provider_x", "withdraw", "delegation_revoked"),
            ("provider_x", "withdraw", "delegation_expired"),
        ]
        granted = s.scalars(select(AuditLog).where(AuditLog.action == "ids.delegate")).all()
        assert [(g.actor, g.detail["provider"]) for g in granted] == [
            ("ent_a", "provider_x"),
            ("ent_a", "provider_x"),
        ]
        assert s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "ids.delegation_revoked")) == 1  # fmt: skip
        live = s.scalars(select(Identifier.suffix).where(Identifier.status == "live")).all()
        assert sorted(live) == ["D001", "D003"]
        writes = s.scalars(
            select(AuditLog.actor).where(AuditLog.action.in_(["ids.register", "ids.update"]))
        ).all()
        assert writes == ["provider_x", "provider_x", "provider_x"]


def test_bulk_records_match_single_registration(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-based go-live spreads each staged row into the same typed records as one
    registration (:func:`service.make_records`): template order (columns given in another order),
    consecutive indexes over the values present, the template's TTL, restricted permission,
    JSON types kept (integer, text); and its history names the upload."""
    monkeypatch.setattr(service, "ANALYZE_AFTER", 1)  # PostgreSQL: statistics renewed too
    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        content = _csv(
            "suffix,supplier,quantity,produced,batch,product",
            "K1,某供应商,12,2026-11-02,L1,布料",
            "K2,,3,,L2,纱线",  # optional cells empty: no record for them
            "K/3,,7,2026-02-28,L3,布料",  # a suffix may hold "/"
        )
        rep = service.bulk(
            s, actor_a, "88.118.8", "k.csv", service.read_rows("k.csv", content), "batch", CONFIG
        )
        assert rep.status == "live", rep.problems
        service.register(
            s,
            actor_a,
            "88.118.8/S1",
            "batch",
            {
                "supplier": "某供应商",
                "quantity": 12,
                "produced": "2026-11-02",
                "batch": "L1",
                "product": "布料",
            },
            CONFIG,
        )

        def values(text: str) -> list[tuple]:
            res = service.resolve(s, text, CONFIG, restricted_ok=True, log=False)
            return [
                (v["index"], v["type"], v["data"], v["ttl"], v["permission"])
                for v in res.body["values"]
            ]

        k1 = [
            (1, "product", "布料", 86400, "public"),
            (2, "batch", "L1", 86400, "public"),
            (3, "quantity", 12, 86400, "public"),
            (4, "produced", "2026-11-02", 86400, "public"),
            (5, "supplier", "某供应商", 86400, "restricted"),
        ]
        assert values("88.118.8/K1") == k1 == values("88.118.8/S1")
        assert values("88.118.8/K2") == [
            (1, "product", "纱线", 86400, "public"),
            (2, "batch", "L2", 86400, "public"),
            (3, "quantity", 3, 86400, "public"),
        ]
        assert [v[2] for v in values("88.118.8/K/3")] == ["布料", "L3", 7, "2026-02-28"]
        public = service.resolve(s, "88.118.8/K1", CONFIG, log=False)
        assert public.body["restricted_hidden"] == 1 and len(public.body["values"]) == 4
        hist = service.history(s, service.find(s, "88.118.8/K2").id)
        assert [(h["action"], h["detail"]) for h in hist] == [
            ("registered", {"upload": rep.upload_id})
        ]
        # a real calendar check, as jsonschema's: 2026-02-30 is refused by the fast path too
        bad = _csv("suffix,product,batch,quantity,produced", "K9,布料,L9,1,2026-02-30")
        rep = service.bulk(
            s, actor_a, "88.118.8", "b.csv", service.read_rows("b.csv", bad), "batch", CONFIG
        )
        assert [(p["row"], p["column"]) for p in rep.problems] == [(2, "produced")]


def test_resolution_counts_are_summed(engine: Engine) -> None:
    """Repeated answers of one kind become one row with its ``hits``; the statistics and the
    cockpit count hits, not rows."""
    from industry_brain.domains.identifiers import stats
    from industry_brain.domains.identifiers.models import IdResolution

    actor_a, _ = _setup(engine)
    log = service.ResolutionLog(max_pending=10_000, max_age=3600)
    with Session(engine) as s:
        service.register(s, actor_a, "88.118.8/P001", "product", PRODUCT, CONFIG)
        for _ in range(5):
            service.resolve(s, "88.118.8/P001", CONFIG, log=log)
        for _ in range(2):
            service.resolve(s, "88.118.8/NONE", CONFIG, log=log)
        assert s.scalar(select(func.count()).select_from(IdResolution)) == 0
        log.flush(s)
        rows = s.execute(
            select(IdResolution.status, IdResolution.template_code, IdResolution.hits)
        ).all()
        assert sorted(rows) == [(200, "product", 5), (404, None, 2)]
        out = stats.summary(s)
        assert out["resolutions"] == 7
        assert out["resolutions_by_day"][0]["by_status"] == {"200": 5, "404": 2}


def test_resolver_process_answers_as_the_service(engine: Engine) -> None:
    """``ids serve``'s app (its own DBAPI read path and cache) on both stores: the same body as
    the service's session path for 200, and 400 / 404 / 410; a withdrawal by this process is
    seen at once although the answer was cached; a bad token is 401, not a public answer."""
    from fastapi.testclient import TestClient

    from industry_brain.domains.identifiers.node import create_resolver_app

    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        service.register(s, actor_a, "88.118.8/P001", "product", PRODUCT, CONFIG)
        service.register(s, actor_a, "88.118.8/Q1", "batch", {"product": "布", "batch": "L",
                         "quantity": 3, "supplier": "某厂"}, CONFIG)  # fmt: skip
        want = {t: service.resolve(s, t, CONFIG, log=False).body for t in ("88.118.8/P001",
                "88.118.8/Q1")}  # fmt: skip
    app = create_resolver_app(engine, CONFIG)
    with TestClient(app) as client:
        for text, body in want.items():
            r = client.get(f"/api/v1/ids/resolve/{text}")
            assert r.status_code == 200 and r.json() == body
        q1 = client.get("/api/v1/ids/resolve/88.118.8/Q1").json()
        assert [v["data"] for v in q1["values"]] == ["布", "L", 3]
        assert q1["restricted_hidden"] == 1
        assert client.get("/api/v1/ids/resolve/88.118.8/NONE").status_code == 404
        assert client.get("/api/v1/ids/resolve/nonsense").status_code == 400
        r = client.get(
            "/api/v1/ids/resolve/88.118.8/P001", headers={"Authorization": "Bearer ib_bad"}
        )
        assert r.status_code == 401
        with Session(engine) as s:
            service.withdraw(s, actor_a, "88.118.8/P001", "test")
        r = client.get("/api/v1/ids/resolve/88.118.8/P001")
        assert r.status_code == 410
        assert [h["action"] for h in r.json()["history"]] == ["registered", "withdrawn"]
    with Session(engine) as s:  # written at shutdown: 3 × 200, 404, 410 (400 and 401 are not)
        assert stats_total(s) == 5


def stats_total(s: Session) -> int:
    from industry_brain.domains.identifiers import stats

    return stats.summary(s)["resolutions"]


def test_migration_0021_keeps_the_values_of_an_old_store(db_url: str) -> None:
    """An identifier stored before 0021 (values as ``ids_records`` rows) keeps its values in
    index order, types, TTL and permission after the upgrade, resolves the same, and the
    downgrade spreads them back into rows."""
    from sqlalchemy import text

    from industry_brain.store import migrate
    from industry_brain.store.db import make_engine

    eng = make_engine(db_url)
    try:
        migrate.upgrade(eng, "0022_programme_files")
        with Session(eng) as s:  # enterprises: the same table before and after 0021
            s.add(Enterprise(id=1, uscc=uscc.make("91330502MA2B00009"), name="旧企业"))
            s.commit()
        with eng.begin() as c:
            c.execute(text("INSERT INTO ids_prefixes (id, prefix, enterprise_id, status,"
                           " applied_by) VALUES (1, '88.118.8', 1, 'approved', 'x')"))  # fmt: skip
            c.execute(text("INSERT INTO ids_templates (id, code, industry, version, schema,"
                           " created_by) VALUES (1, 'product', 'C', 1, '{}', 'x')"))  # fmt: skip
            c.execute(text("INSERT INTO ids_identifiers (id, prefix, suffix, prefix_id,"
                           " template_id, status, created_by) VALUES"
                           " (1, '88.118.8', 'OLD1', 1, 1, 'live', 'x'),"
                           " (2, '88.118.8', 'OLD2', 1, 1, 'live', 'x')"))  # fmt: skip
            rec = text("INSERT INTO ids_records (identifier_id, idx, type, data, ttl, permission)"
                       " VALUES (1, :i, :t, :d, :ttl, :p)")  # fmt: skip
            # stored out of index order: the array follows idx, not insertion
            for i, t, d, ttl, p in [(3, "customer", '"某商场"', 60, "restricted"),
                                    (1, "name", '"童装"', 600, "public"),
                                    (2, "qty", "12", 600, "public")]:  # fmt: skip
                c.execute(rec, {"i": i, "t": t, "d": d, "ttl": ttl, "p": p})
        migrate.upgrade(eng)
        with Session(eng) as s:
            one = s.scalar(select(Identifier).where(Identifier.suffix == "OLD1"))
            assert json.loads(one.vals) == [
                ["name", "童装", 600, 0],
                ["qty", 12, 600, 0],
                ["customer", "某商场", 60, 1],
            ]
            assert s.scalar(select(Identifier.vals).where(Identifier.suffix == "OLD2")) == "[]"
            res = service.resolve(s, "88.118.8/OLD1", CONFIG, restricted_ok=True, log=False)
            assert res.status == 200 and res.ttl == 60
            assert [(v["index"], v["type"], v["data"], v["permission"])
                    for v in res.body["values"]] == [
                (1, "name", "童装", "public"),
                (2, "qty", 12, "public"),
                (3, "customer", "某商场", "restricted"),
            ]  # fmt: skip
        migrate.downgrade(eng, "0022_programme_files")
        with eng.connect() as c:
            rows = c.execute(text("SELECT idx, type, ttl, permission FROM ids_records"
                                  " WHERE identifier_id = 1 ORDER BY idx")).all()  # fmt: skip
        assert [tuple(r) for r in rows] == [
            (1, "name", 600, "public"),
            (2, "qty", 600, "public"),
            (3, "customer", 60, "restricted"),
        ]
    finally:
        eng.dispose()


def test_the_cockpit_stamp_moves_with_every_write(engine: Engine) -> None:
    """The cockpit section is cached until its stamp moves: a registration, a bulk upload, an
    update, a withdrawal and a logged resolution each move it (primary-key maxima only)."""
    from industry_brain.domains.identifiers.web import cockpit_stamp

    actor_a, _ = _setup(engine)
    with Session(engine) as s:
        seen = [cockpit_stamp(s)]
        batch = {"product": "p", "batch": "b", "quantity": 1}
        steps = (
            lambda: service.register(s, actor_a, "88.118.8/S1", "batch", batch, CONFIG),
            lambda: service.bulk_file(
                s, actor_a, "88.118.8", "s.csv", b"suffix,product,batch,quantity\nS2,p,b,2\n",
                "batch", CONFIG,
            ),
            lambda: service.update(s, actor_a, "88.118.8/S1", {**batch, "quantity": 3}, CONFIG),
            lambda: service.withdraw(s, actor_a, "88.118.8/S2", "停产"),
        )  # fmt: skip
        for step in steps:
            step()
            s.commit()
            seen.append(cockpit_stamp(s))
        log = service.ResolutionLog()
        service.resolve(s, "88.118.8/S1", CONFIG, log=log)
        log.flush(s)
        s.commit()
        seen.append(cockpit_stamp(s))
        assert len(set(seen)) == len(seen)
