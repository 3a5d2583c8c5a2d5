"""Code lists of the market: the GB/T 39116 capability sub-domains (read from the diagnosis
service's CMMM questionnaire file, its data — never by importing its modules), provider types,
recognitions and firm sizes, with their Chinese and English labels."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PROVIDER_KINDS: dict[str, tuple[str, str]] = {
    "engineering": ("数字化工程服务机构", "digital engineering service"),
    "platform": ("工业互联网平台", "industrial internet platform"),
    "data_collection": ("数据采集服务商", "data collection provider"),
    "consulting": ("咨询诊断机构", "consulting and diagnosis"),
    "leading": ("智能制造领军服务机构", "leading intelligent-manufacturing provider"),
    "excellent": ("优秀智改数转服务商", "excellent 智改数转 provider"),
}
RECOGNITIONS: dict[str, tuple[str, str]] = {
    "leading": ("智能制造领军服务机构", "leading intelligent-manufacturing provider"),
    "excellent": ("优秀智改数转服务商", "excellent 智改数转 provider"),
    "engineering": ("数字化工程服务机构", "digital engineering service organisation"),
    "data_collection": ("数据采集服务商", "data collection provider"),
    "diagnosis": ("诊断服务商（政府采购）", "tendered diagnosis provider"),
}
SIZES: dict[str, tuple[str, str]] = {
    "large": ("大型", "large"),
    "medium": ("中型", "medium"),
    "small": ("小型", "small"),
    "micro": ("微型", "micro"),
}
LEAD_STATUSES: dict[str, tuple[str, str]] = {
    "requested": ("已申请对接", "requested"),
    "contacted": ("已联系", "contacted"),
    "contracted": ("已签约", "contracted"),
    "delivered": ("已交付", "delivered"),
    "declined": ("未达成", "declined"),
}
SOLUTION_STATUSES: dict[str, tuple[str, str]] = {
    "pending": ("待审核", "awaiting review"),
    "published": ("已发布", "published"),
    "rejected": ("已退回", "rejected"),
}
REVIEW_STATUSES: dict[str, tuple[str, str]] = {
    "pending": ("待审核", "awaiting review"),
    "approved": ("已通过", "approved"),
    "rejected": ("已退回", "rejected"),
}


def cmmm_file() -> Path:
    """The diagnosis service's CMMM questionnaire (the newest version shipped)."""
    folder = resources.files("industry_brain.domains") / "diagnosis" / "questionnaires"
    files = sorted(Path(str(folder)).glob("cmmm-*.yaml"))
    if not files:
        raise FileNotFoundError("the CMMM questionnaire (diagnosis service) is not installed")
    return files[-1]


@cache
def subdomains() -> dict[str, dict[str, Any]]:
    """CMMM sub-domain code → {zh, en, domain, domain_zh, domain_en}, in questionnaire order."""
    data = yaml.safe_load(cmmm_file().read_text("utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for d in data["domains"]:
        for s in d["subdomains"]:
            out[s["code"]] = {
                "zh": s["name"]["zh"],
                "en": s["name"]["en"],
                "domain": d["code"],
                "domain_zh": d["name"]["zh"],
                "domain_en": d["name"]["en"],
            }
    return out


@cache
def max_level() -> int:
    data = yaml.safe_load(cmmm_file().read_text("utf-8"))
    return max(int(lv["level"]) for lv in data["levels"])


def label(table: dict[str, tuple[str, str]], code: str | None, lang: str = "zh") -> str:
    if code is None or code not in table:
        return code or "—"
    return table[code][0 if lang == "zh" else 1]


def subdomain_label(code: str, lang: str = "zh") -> str:
    s = subdomains().get(code)
    return s["zh" if lang == "zh" else "en"] if s else code


def subdomain_by_name(text: str) -> str | None:
    """A sub-domain code from its code or its Chinese or English name (XLSX imports)."""
    t = text.strip()
    for code, s in subdomains().items():
        if t in (code, s["zh"]) or t.lower() == s["en"].lower():
            return code
    return None


def size_by_name(text: str) -> str | None:
    t = text.strip().removesuffix("企业")
    for code, (zh, en) in SIZES.items():
        if t in (code, zh, zh.removesuffix("型")) or t.lower() == en:
            return code
    return None
