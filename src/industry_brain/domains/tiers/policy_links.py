"""一企一策 support policies: a plan's actions name a policy by its code; the plan shows the
policy's title and what the firm qualifies for in the policy service's latest published batch.

The amounts come from ``result_policy`` as the policy service publishes it (its result table's
declared ``read`` on the service contract — the rows every snapshot holds), never from the policy
service's modules. A result table carries no title: the title is read from the policy's shipped
definition file (``policies/<code>.yaml`` in the parameter folder the policy service declares on the
contract — data, not its modules); without the policy service or the file the code is shown.
A policy without a row for the firm in the latest run is "not eligible" (a run keeps eligible,
stacked and cannot-tell rows only); without a run, "not evaluated yet".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import yaml
from sqlalchemy.orm import Session

from industry_brain import contract

TABLE = "result_policy"


def _result_table() -> Any:
    for svc in contract.services().values():
        for table in svc.result_tables:
            if table.name == TABLE:
                return table
    return None


def _titles(codes: list[str]) -> dict[str, tuple[str, str]]:
    svc = contract.services().get("policy")
    declared = svc.parameter_domain if svc is not None else None
    if not declared:
        return {}
    folder = Path(declared[1]) / "policies"
    out: dict[str, tuple[str, str]] = {}
    for code in codes:
        path = folder / f"{code}.yaml"
        if not code.replace("_", "").isalnum() or not path.is_file():
            continue
        try:
            title = (yaml.safe_load(path.read_text("utf-8")) or {}).get("title") or {}
        except (OSError, yaml.YAMLError):
            continue  # a broken policy file must not take the plan page down
        if title.get("zh"):
            out[code] = (str(title["zh"]), str(title.get("en") or title["zh"]))
    return out


def support_policies(session: Session, enterprise_id: int, uscc: str, codes: list[str]) -> dict:
    """Per policy code: title, the latest published year and run, status (``eligible``,
    ``stacked``, ``unknown``, ``no``, ``not_run``), the amount and what the batch pays, and the
    link to the firm's page in the policy calculator."""
    codes = list(dict.fromkeys(c for c in codes if c))
    if not codes:
        return {}
    table = _result_table()
    frame = pd.DataFrame()
    if table is not None:
        frame, _runs = table.read(session)
    titles = _titles(codes)
    latest_year = int(frame["year"].max()) if not frame.empty else None
    link = "/policy/calculator?" + urlencode({"uscc": uscc})
    out: dict[str, dict[str, Any]] = {}
    for code in codes:
        zh, en = titles.get(code, (code, code))
        entry: dict[str, Any] = {
            "code": code,
            "title_zh": zh,
            "title_en": en,
            "known": code in titles,
            "year": latest_year,
            "run_id": None,
            "status": "not_run" if latest_year is None else "no",
            "amount": None,
            "paid": None,
            "link": link,
        }
        if latest_year is not None:
            rows = frame[
                (frame["year"] == latest_year)
                & (frame["enterprise_id"] == enterprise_id)
                & (frame["policy_id"] == code)
            ]
            entry["run_id"] = int(frame[frame["year"] == latest_year]["run_id"].max())
            if not rows.empty:
                # one row per entity (the enterprise, a project, a loan): the sum of them
                entry["status"] = str(rows.iloc[0]["status"])
                if "eligible" in set(rows["status"]):
                    entry["status"] = "eligible"
                amounts = rows.loc[rows["status"] == "eligible", "amount"].dropna()
                paid = rows.loc[rows["status"] == "eligible", "paid"].dropna()
                entry["amount"] = float(amounts.sum()) if len(amounts) else None
                entry["paid"] = float(paid.sum()) if len(paid) else None
        out[code] = entry
    return out
