"""碳效贷 products: per bank, the rate discount and limit by grade (``carbon.products``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core.errors import Location
from industry_brain.domains.carbon.errors import CarbonError
from industry_brain.domains.carbon.rules import on_date
from industry_brain.domains.carbon.service import result_for
from industry_brain.store.enterprises import get_by_uscc


def all_products(region: str | None = None, on: date | None = None) -> list[dict[str, Any]]:
    """Every product as {bank, code, zh, en, rules: {grade: {rate_discount_bp, limit_wan}}}."""
    resolved = parameters.load().resolve("carbon.products", region, on)
    out = []
    for bank, products in sorted((resolved.value or {}).items()):
        for p in products:
            rules = {int(g): dict(r) for g, r in (p.get("rules") or {}).items()}
            if not all(1 <= g <= 5 for g in rules) or not all(
                {"rate_discount_bp", "limit_wan"} <= set(r) for r in rules.values()
            ):
                raise CarbonError(
                    "carbon.param_invalid",
                    f"碳效贷产品 {p.get('code')} 的规则应为 等级(1–5) → "
                    "{rate_discount_bp, limit_wan}",
                    f"product {p.get('code')} rules must map grade (1-5) to "
                    "{rate_discount_bp, limit_wan}",
                    Location(file=resolved.file, field="carbon.products"),
                )
            out.append(
                {
                    "bank": bank,
                    "code": p["code"],
                    "zh": p.get("zh", ""),
                    "en": p.get("en", ""),
                    "rules": rules,
                    "quality": resolved.quality,
                    "source": resolved.source,
                }
            )
    return out


def find_product(bank: str, code: str, region: str | None, on: date) -> dict[str, Any]:
    for p in all_products(region, on):
        if p["bank"] == bank and p["code"] == code:
            return p
    raise CarbonError(
        "carbon.product_unknown",
        f"银行 {bank} 没有产品“{code}”",
        f"bank {bank} has no product '{code}'",
        Location(field="product"),
        code,
    )


def qualifying(session: Session, uscc: str, year: int | None = None) -> dict[str, Any]:
    """The enterprise's current grade and the products it qualifies for (with terms)."""
    ent = get_by_uscc(session, uscc)
    res = result_for(session, ent, year, graded_only=True)
    grade = int(res.grade)  # type: ignore[arg-type]
    products = all_products(ent.county_code, on_date(res.year))
    eligible = [
        {
            "bank": p["bank"],
            "code": p["code"],
            "zh": p["zh"],
            "en": p["en"],
            "rate_discount_bp": p["rules"][grade]["rate_discount_bp"],
            "limit_wan": p["rules"][grade]["limit_wan"],
        }
        for p in products
        if grade in p["rules"]
    ]
    return {
        "uscc": ent.uscc,
        "name": ent.name,
        "year": res.year,
        "grade": grade,
        "level": res.level,
        "label": res.label,
        "products": eligible,
        "others": [
            {"bank": p["bank"], "code": p["code"], "zh": p["zh"], "grades": sorted(p["rules"])}
            for p in products
            if grade not in p["rules"]
        ],
        "quality": products[0]["quality"] if products else None,
    }
