"""The bulk registration's columnar path (issue 20 benchmark): a plain CSV checked and encoded
column by column must give exactly what the row path gives — the same rows, suffixes and stored
values — and must hand every file it cannot prove valid to the row path."""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from industry_brain.core import uscc
from industry_brain.domains.identifiers import columnar, service
from industry_brain.domains.identifiers.models import Identifier
from industry_brain.store import migrate
from industry_brain.store.db import make_engine
from industry_brain.store.models import Enterprise

CONFIG = service.NodeConfig(
    prefix="88.118", name_zh="测试节点", name_en="test node", default_ttl=600, nodes={}
)
BATCH = json.loads(
    (
        Path(service.__file__).parent / "templates" / "batch.json"
    ).read_text(encoding="utf-8")
)  # fmt: skip
# a template with every kind of property the columnar path handles, and per-value keywords
MIXED = {
    "type": "object",
    "x-ttl": 300,
    "x-restricted": ["secret"],
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 8},
        "code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"},
        "kind": {"type": "string", "enum": ["甲", "乙"]},
        "count": {"type": "integer", "minimum": 0, "maximum": 1000},
        "even": {"type": "integer", "multipleOf": 2},
        "weight": {"type": "number", "exclusiveMinimum": 0},
        "ok": {"type": "boolean"},
        "day": {"type": "string", "format": "date"},
        "secret": {"type": "string"},
    },
}


def prepare(content: bytes, schema: dict) -> columnar.Clean | None:
    return columnar.prepare(content, schema, CONFIG.default_ttl, service.validator)


def _owner(s: Session, k: int = 1) -> service.Actor:
    """Enterprise ``k`` (with the built-in templates) owning the approved prefix 88.118.(7+k)."""
    ent = Enterprise(uscc=uscc.make(f"91330502MA2B0000{k}"), name=f"企业{k}", county_code="330522")
    s.add(ent)
    s.commit()
    service.ensure_builtin_templates(s)
    actor = service.Actor(f"ent{k}", "enterprise", ent.id)
    service.apply_prefix(s, actor, ent.uscc, f"88.118.{7 + k}", CONFIG)
    service.decide_prefix(s, service.Actor("officer", "city_officer"), f"88.118.{7 + k}", True)
    return actor


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path):  # type: ignore[no-untyped-def]
    """One SQLite store for the module: an enterprise owning 88.118.8 and the MIXED template."""
    path = tmp_path_factory.mktemp("columnar") / "store.sqlite"
    with closing(sqlite3.connect(_sqlite_template)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with Session(engine) as s:
        actor = _owner(s)
        service.put_template(s, "test", "mixed", MIXED)
    yield engine, actor
    engine.dispose()


def row_path(store, content: bytes, code: str) -> tuple[str, list[tuple[int, str, str]]]:  # type: ignore[no-untyped-def]
    """The row path's outcome for a file: its status and staged (row, suffix, values)."""
    engine, actor = store
    with Session(engine) as s:
        rows = service.read_rows("f.csv", content)
        rep = service.bulk(s, actor, "88.118.8", "f.csv", rows, code, CONFIG, live=False)
        # the staged values as the text written (the ORM would decode the JSON)
        staged = s.execute(
            text("SELECT row, suffix, data FROM ids_upload_rows WHERE upload_id = :u ORDER BY row"),
            {"u": rep.upload_id},
        ).all()
        return rep.status, [tuple(r) for r in staged]


def test_spaces_are_every_character_str_strip_removes() -> None:
    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(columnar._spaces().to_pylist()) == every


CLEAN = {
    "plain": (
        "suffix,product,batch,quantity,produced\nA1,布,L1,1,2026-11-01\nA2,布,L2,2,\n"
    ).encode(),
    "bom_crlf_blank_lines": (
        b"\xef\xbb\xbfsuffix,product,batch,quantity\r\n\r\nA1,p,b,3\r\n\r\nA2,p,b,4\r\n"
    ),
    "spaces_stripped": (
        " suffix , product,batch ,quantity\n A1 ,\u3000布 ,b, 5\nA2,p,b,6 \n"
    ).encode("utf-8"),
    "integer_forms": b"suffix,product,batch,quantity\nA1,p,b,+007\nA2,p,b,0010\n",
    "backslash_and_unicode": "suffix,product,batch,quantity\nA1,a\\b\\\\c,批次\u2028,1\n".encode(),
    "restricted_and_no_newline_at_end": b"suffix,product,batch,quantity,supplier\nA1,p,b,1,s",
    "mixed_all_kinds": (
        "suffix,name,code,kind,count,even,weight,ok,day,secret\n"
        "M1,甲,AB12,甲,0,2,1.50,TRUE,2026-02-28,x\n"
        "M2,乙,,乙,1000,-4,1e3,0,,\n"
        "M3,丙,CD3,,,,0.1,false,2024-02-29,y\n"
    ).encode(),
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_a_clean_file_gives_what_the_row_path_gives(store, name: str) -> None:  # type: ignore[no-untyped-def]
    content = CLEAN[name]
    code = "mixed" if name.startswith("mixed") else "batch"
    schema = MIXED if code == "mixed" else BATCH
    clean = prepare(content, schema)
    assert clean is not None, name
    status, staged = row_path(store, content, code)
    assert status == "staged"
    assert list(zip(clean.rows, clean.suffixes, clean.vals, strict=True)) == staged


def test_values_as_stored_worked_out_by_hand() -> None:
    clean = prepare(CLEAN["mixed_all_kinds"], MIXED)
    assert clean is not None
    # template order, empty cells absent, 1.50 → 1.5, 1e3 → 1000.0, TRUE/0/false → booleans,
    # "secret" restricted: [type, data, ttl, 1]; the common TTL (x-ttl 300) first
    assert clean.vals == [
        '[300,["name","甲"],["code","AB12"],["kind","甲"],["count",0],["even",2],'
        '["weight",1.5],["ok",true],["day","2026-02-28"],["secret","x",300,1]]',
        '[300,["name","乙"],["kind","乙"],["count",1000],["even",-4],["weight",1000.0],'
        '["ok",false]]',
        '[300,["name","丙"],["code","CD3"],["weight",0.1],["ok",false],["day","2024-02-29"],'
        '["secret","y",300,1]]',
    ]
    assert clean.rows == [2, 3, 4] and clean.suffixes == ["M1", "M2", "M3"]


HEAD = "suffix,name,code,kind,count,even,weight,ok,day,secret\n"
ROW_PATH = {  # each file goes to the row path (None); what the row path makes of it is its own
    "quote": b'suffix,product,batch,quantity\nA1,"p,q",b,1\n',
    "tab": b"suffix,product,batch,quantity\nA1,p\tq,b,1\n",
    "lone_cr": b"suffix,product,batch,quantity\rA1,p,b,1\r",
    "short_row": b"suffix,product,batch,quantity\nA1,p,b\n",
    "long_row": b"suffix,product,batch,quantity\nA1,p,b,1,9\n",
    "repeated_header": b"suffix,product,product,quantity\nA1,p,b,1\n",
    "empty_header_cell": b"suffix,product,,batch,quantity\nA1,p,x,b,1\n",
    "no_suffix_column": b"product,batch,quantity\np,b,1\n",
    "header_only": b"suffix,product,batch,quantity\n",
    "duplicate_suffix": b"suffix,product,batch,quantity\nA1,p,b,1\nA1,p,b,2\n",
    "bad_suffix": b"suffix,product,batch,quantity\nA 1,p,b,1\n",
    "missing_required": b"suffix,product,batch,quantity\nA1,p,,1\n",
    "required_only_spaces": b"suffix,product,batch,quantity\nA1,p, ,1\n",
    "not_an_integer": b"suffix,product,batch,quantity\nA1,p,b,x\n",
    "underscore_integer": b"suffix,product,batch,quantity\nA1,p,b,1_000\n",
    "fullwidth_digits": "suffix,product,batch,quantity\nA1,p,b,１２\n".encode(),
    "integer_below_minimum": b"suffix,product,batch,quantity\nA1,p,b,0\n",
    "extra_column_refused": b"suffix,product,batch,quantity,colour\nA1,p,b,1,red\n",
    "not_utf8": "suffix,product,batch,quantity\nA1,布,b,1\n".encode("gbk"),
    "bad_date": b"suffix,product,batch,quantity,produced\nA1,p,b,1,2026-02-30\n",
    "mixed_pattern": (HEAD + "M1,a,ab1,,,,,,,\n").encode(),
    "mixed_enum": (HEAD + "M1,a,,丁,,,,,,\n").encode(),
    "mixed_multiple_of": (HEAD + "M1,a,,,,3,,,,\n").encode(),
    "mixed_weight_zero": (HEAD + "M1,a,,,,,0,,,\n").encode(),
    "mixed_weight_inf": (HEAD + "M1,a,,,,,inf,,,\n").encode(),
    "mixed_not_boolean": (HEAD + "M1,a,,,,,,yes,,\n").encode(),
    "mixed_too_long": (HEAD + "M1,abcdefghi,,,,,,,,\n").encode(),
}


@pytest.mark.parametrize("name", sorted(ROW_PATH))
def test_a_file_it_cannot_prove_goes_to_the_row_path(name: str) -> None:
    schema = MIXED if name.startswith("mixed") else BATCH
    assert prepare(ROW_PATH[name], schema) is None


def test_a_template_outside_the_flat_subset_goes_to_the_row_path() -> None:
    content = b"suffix,a\nA1,x\n"
    for schema in (
        {"type": "object", "properties": {"a": {"type": "string"}}, "allOf": [{}]},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}},
        {"type": "object", "properties": {"a": {"type": ["string", "null"]}}},
        {"type": "object", "properties": {"a": {"type": "integer", "exclusiveMinimum": True}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
    ):
        assert prepare(content, schema) is None
    assert prepare(content, {"type": "object", "properties": {"a": {"type": "string"}}})


cell = st.one_of(
    st.sampled_from(["", " ", "1", "+02", "-3", "1.5", "1e2", "true", "0", "甲", "乙", "AB12",
                     "2026-02-28", "2026-02-30", "x\\y", "a b", " 7 ", "\u3000乙", "1_0",
                     "abcdefghij"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=4),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(cell, cell, cell, cell, cell, cell, cell, cell, cell), min_size=1,
             max_size=6),
    st.booleans(),
)  # fmt: skip
def test_any_file_the_columnar_path_accepts_the_row_path_accepts_alike(store, rows, crlf) -> None:  # type: ignore[no-untyped-def]
    """Random cells of every kind (spaces, signs, dates, backslashes, any Unicode): whenever the
    columnar path says "clean", the row path stages the very same rows and values."""
    eol = "\r\n" if crlf else "\n"
    lines = [HEAD.strip()] + [f"R{i}," + ",".join(r) for i, r in enumerate(rows)]
    content = eol.join(lines).encode("utf-8", "surrogatepass")
    clean = prepare(content, MIXED)
    if clean is None:
        return
    status, staged = row_path(store, content, "mixed")
    assert status == "staged"
    assert list(zip(clean.rows, clean.suffixes, clean.vals, strict=True)) == staged


_text = st.characters(
    blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters=',"'
)  # no separator, quote, control character or whitespace
_pad = st.sampled_from(["", " ", "  ", "\u3000", "\u2028", "\xa0"])


def _padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(_pad, core, _pad).map("".join)


def _int_text(values: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return st.tuples(values, st.sampled_from(["{}", "+{}", "{:05d}"])).map(
        lambda p: p[1].format(p[0]) if p[0] >= 0 or p[1] != "+{}" else str(p[0])
    )


_valid_row = st.tuples(
    _padded(st.text(_text, min_size=1, max_size=8)),  # name: required, 1–8 characters
    st.one_of(st.just(""), _padded(st.from_regex(r"[A-Z]{2}[0-9]{1,4}", fullmatch=True))),
    _padded(st.sampled_from(["", "甲", "乙"])),
    st.one_of(st.just(""), _padded(_int_text(st.integers(0, 1000)))),
    st.one_of(st.just(""), _int_text(st.integers(-500, 500).map(lambda v: 2 * v))),
    st.one_of(
        st.just(""),
        st.floats(min_value=0.001, max_value=1e9).map(repr),
        st.floats(min_value=0.001, max_value=1e9).map("{:.3f}".format),
    ),
    st.sampled_from(["", "true", "false", "1", "0", "TRUE", "False"]),
    st.one_of(st.just(""), st.dates().map(lambda d: d.isoformat())),
    st.text(st.one_of(_text, st.just("\\")), max_size=6),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_valid_row, min_size=1, max_size=8), st.booleans())
def test_any_valid_file_takes_the_columnar_path_and_stores_the_same(store, rows, crlf) -> None:  # type: ignore[no-untyped-def]
    """Valid files of every kind of cell (padded with spaces a strip removes, signs and zero
    padding, floats in both notations, any non-space Unicode, backslashes): the columnar path
    accepts each one and encodes exactly what the row path stages."""
    eol = "\r\n" if crlf else "\n"
    lines = [HEAD.strip()] + [f"R{i}," + ",".join(r) for i, r in enumerate(rows)]
    content = eol.join(lines).encode("utf-8")
    clean = prepare(content, MIXED)
    assert clean is not None
    status, staged = row_path(store, content, "mixed")
    assert status == "staged"
    assert list(zip(clean.rows, clean.suffixes, clean.vals, strict=True)) == staged


def test_bulk_file_stores_what_the_row_path_stores(engine: Engine) -> None:
    """End to end on SQLite and PostgreSQL: the same file registered through ``bulk_file`` (the
    columnar path) under one prefix and through ``bulk`` (the row path) under another stores
    the same values; a file clashing with the store fails with the clashing row, keeping
    nothing."""
    with Session(engine) as s:
        actors = [_owner(s, 1), _owner(s, 2)]  # 88.118.8 and 88.118.9
        lines = ["suffix,product,batch,quantity,produced,supplier"] + [
            f"S{i:05d},产品\\{i % 3},L{i},{i % 97 + 1},{'2026-11-01' if i % 2 else ''},"
            f"{'供应商' if i % 5 == 0 else ''}"
            for i in range(3000)
        ]
        content = "\n".join(lines).encode()
        assert prepare(content, BATCH) is not None
        a = service.bulk_file(s, actors[0], "88.118.8", "f.csv", content, "batch", CONFIG)
        rows = service.read_rows("f.csv", content)
        b = service.bulk(s, actors[1], "88.118.9", "f.csv", rows, "batch", CONFIG)
        assert (a.status, a.rows, b.status, b.rows) == ("live", 3000, "live", 3000)

        def stored(prefix: str) -> list[tuple[str, str]]:
            return [
                tuple(r)
                for r in s.execute(
                    select(Identifier.suffix, Identifier.vals)
                    .where(Identifier.prefix == prefix)
                    .order_by(Identifier.suffix)
                )
            ]

        assert stored("88.118.8") == stored("88.118.9") and len(stored("88.118.8")) == 3000
        res = service.resolve(s, "88.118.8/S00010", CONFIG, log=False)
        assert [(v["type"], v["data"], v["permission"]) for v in res.body["values"]] == [
            ("product", "产品\\1", "public"),
            ("batch", "L10", "public"),
            ("quantity", 11, "public"),
        ]  # the restricted supplier is not shown to the public
        assert service.find(s, "88.118.8/S00010").vals == (
            '[86400,["product","产品\\\\1"],["batch","L10"],["quantity",11],'
            '["supplier","供应商",86400,1]]'
        )  # x-ttl 86400 of the batch template, the backslash escaped once in JSON
        clash = b"suffix,product,batch,quantity\nN1,p,b,1\nS00007,p,b,1\nN2,p,b,1\n"
        assert prepare(clash, BATCH) is not None
        rep = service.bulk_file(s, actors[0], "88.118.8", "c.csv", clash, "batch", CONFIG)
        assert rep.status == "failed"
        assert [(p["row"], p["code"], p["value"]) for p in rep.problems] == [
            (3, "ids.duplicate", "S00007")
        ]
        assert service.find(s, "88.118.8/N1") is None


def test_references_are_enforced_on_both_stores(engine: Engine) -> None:
    """An identifier naming no prefix or template is refused (SQLite: foreign keys; PostgreSQL:
    migration 0024's statement-level triggers, also over a multi-row statement), deleting a
    prefix deletes its identifiers, and a template still in use cannot be deleted."""
    from sqlalchemy.exc import IntegrityError

    with Session(engine) as s:
        actor = _owner(s)
        content = b"suffix,product,batch,quantity\nA1,p,b,1\nA2,p,b,2\n"
        assert service.bulk_file(s, actor, "88.118.8", "a.csv", content, "batch", CONFIG).rows == 2
        ident = service.find(s, "88.118.8/A1")
        prefix_id, template_id = ident.prefix_id, ident.template_id
        cols = "prefix, suffix, prefix_id, template_id, status, created_by, vals"
        for bad in ((prefix_id + 99, template_id), (prefix_id, template_id + 99)):
            with pytest.raises(IntegrityError):
                s.execute(
                    text(
                        f"INSERT INTO ids_identifiers ({cols}) VALUES"
                        " ('88.118.8', 'X1', :pf, :tp, 'live', 't', '[]'),"
                        " ('88.118.8', 'X2', :p0, :t0, 'live', 't', '[]')"
                    ),
                    {"pf": bad[0], "tp": bad[1], "p0": prefix_id, "t0": template_id},
                )
                s.flush()
            s.rollback()
        with pytest.raises(IntegrityError):
            s.execute(
                text("UPDATE ids_identifiers SET template_id = :t WHERE suffix = 'A2'"),
                {"t": template_id + 99},
            )
        s.rollback()
        with pytest.raises(IntegrityError):
            s.execute(text("DELETE FROM ids_templates WHERE id = :t"), {"t": template_id})
        s.rollback()
        s.execute(text("DELETE FROM ids_prefixes WHERE id = :p"), {"p": prefix_id})
        s.commit()
        assert s.scalar(select(func.count()).select_from(Identifier)) == 0
