"""五企培育 decoding, column by column, against a plain row-by-row reference.

``service.decode`` turns the evaluation's wide rows (one verified and one declared row per
enterprise) into one result per enterprise and applicable scheme, column by column over a slice
of enterprises. The reference below reads the same rules one wide row at a time, written
directly from the rules: the scheme applies when ``<code>__app`` of the verified row is truthy;
``meets`` when the verified status is True, else ``candidate`` when the declared one is, else
the declared status; points, closeness and the explanation's figures from the row that decided;
an enterprise without a declared row is read on its verified row (basis ``verified``); the
preconditions hold when each one's condition column is True (False when one is False, unknown
when one is unknown). The wide rows are hand-made firms' (tests/test_tiers.py) with statuses,
applicability and conditions then set at random (True, False, None) and some declared rows
removed, so every branch occurs.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from industry_brain.domains.tiers import service
from tests.test_tiers import YEAR, base_firm, run, with_growth, with_rd, zjtx

STATUS = {True: "meets", False: "fails", None: "unknown"}


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def reference(wide: pd.DataFrame, schemes: list[Any]) -> list[tuple]:
    """(enterprise, scheme, tier, status, points, closeness, requires_ok, basis, figures) of
    every result, row by row."""
    rows = wide.to_dict(orient="records")
    by_key = {(int(r["enterprise_id"]), r["basis"]): r for r in rows}
    out = []
    for (eid, basis), row in sorted(by_key.items()):
        if basis != "verified":
            continue
        other = by_key.get((eid, "declared"), row)
        for s in schemes:
            if not _plain(row.get(f"{s.code}__app")):
                continue
            verified = _plain(row.get(f"{s.code}__status"))
            declared = _plain(other.get(f"{s.code}__status"))
            if verified is True:
                status, used = "meets", row
            elif declared is True:
                status, used = "candidate", other
            else:
                status, used = STATUS[declared], other
            keys = service._trace_keys(s)
            figures = {k: _plain(used.get(k)) for k in keys}
            oks = [figures.get(f"{s.code}__c__{n.id}") for n in s.requires]
            if any(ok is False for ok in oks):
                requires_ok = False
            elif any(ok is None for ok in oks):
                requires_ok = None
            else:
                requires_ok = True
            out.append(
                (
                    eid,
                    s.code,
                    s.tier,
                    status,
                    _plain(used.get(f"{s.code}__lo")),
                    _plain(used.get(f"{s.code}__close")),
                    requires_ok,
                    "verified" if used is row else "declared",
                    json.dumps(figures, sort_keys=True),
                )
            )
    return out


def decoded(frame: pd.DataFrame) -> list[tuple]:
    return sorted(
        (
            r.enterprise_id,
            r.scheme,
            r.tier,
            r.status,
            r.points,
            r.closeness,
            r.requires_ok,
            r.trace.basis,
            json.dumps(r.trace.row, sort_keys=True),
        )
        for r in frame.itertuples(index=False)
    )


@pytest.fixture(scope="module")
def evaluation() -> service.Evaluation:
    firms = [
        base_firm(),
        with_rd(120),
        with_growth(1500),
        zjtx(3000, 100),
        zjtx(900, 100, equity_2y=2000),
        zjtx(3000, 100, zjtx_score=59.5),
        {**zjtx(3000, 100), "verified": {"zjtx_score": 60}},
        {**base_firm(), "declared": {"ip_class1_total": 3, "rd_staff_share": 0.2}},
        {
            **base_firm(),
            "above": False,
            "titles": [("innovative_sme", YEAR - 1, date(YEAR + 2, 12, 31))],
        },
    ]
    return run(firms * 4)  # 36 firms


def test_decode_equals_the_row_by_row_reference_on_the_evaluation(evaluation) -> None:
    got = decoded(service.decode(evaluation.wide, evaluation.schemes))
    assert len(got) > 30 and got == reference(evaluation.wide, evaluation.schemes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decode_equals_the_reference_with_every_branch(evaluation, seed, monkeypatch) -> None:
    rng = np.random.default_rng(seed)
    wide = evaluation.wide.copy()
    three = np.array([True, False, None], dtype=object)
    for c in wide.columns:
        if c.endswith(("__status", "__app")) or "__c__" in c:
            wide[c] = pd.Series(rng.choice(three, len(wide)), index=wide.index, dtype=object)
    declared = wide.index[wide["basis"] == "declared"]
    wide = wide.drop(index=rng.choice(declared, len(declared) // 3, replace=False))
    wide = wide.sample(frac=1, random_state=seed)  # any row order
    monkeypatch.setattr(service, "DECODE_SLICE", 5)  # several slices
    got = decoded(service.decode(wide, evaluation.schemes))
    want = reference(wide, evaluation.schemes)
    statuses = {r[3] for r in want}
    assert statuses == {"meets", "candidate", "fails", "unknown"}, statuses
    assert {r[6] for r in want} == {True, False, None} and {r[7] for r in want} == {
        "verified",
        "declared",
    }
    assert got == want
