"""The inputs tier schemes may read, where each comes from and who can provide it when missing.

- ``fact``: the departments' yearly figures in the warehouse (统计局 revenue, R&D, staff, profit);
  ``derived`` inputs are computed from them (growth, ratios, two-year means) in the evaluation.
- ``title``: recognised titles from the official lists (imported, with lineage); absent = 0.
- ``declared``: figures the departments do not send, declared by the enterprise with evidence
  and verified by an officer (企业申报).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Input:
    code: str
    kind: str  # fact | derived | title | declared
    zh: str
    en: str
    unit: str  # 万元 | ratio | count | year | flag | rank | score | 人
    provider: str  # statistics | list | enterprise


PROVIDERS = {
    "statistics": ("统计局（统计报表）", "statistics bureau (statistical returns)"),
    "list": ("认定名单（经信/科技部门）", "official recognition lists (economy/science bureaus)"),
    "enterprise": (
        "企业申报（附证明材料，经审核）",
        "enterprise declaration (with evidence, verified)",
    ),
    "chain": (
        "经信部门（重点产业链链长办、产业链图谱），或企业申报（附证明材料，经审核）",
        "economy bureau (key-chain office, chain map), or an enterprise declaration (verified)",
    ),
}

_ALL: list[Input] = [
    # facts of the year Y (and Y-1, Y-2 for growth) — money in 万元
    Input("revenue", "fact", "营业收入", "revenue", "万元", "statistics"),
    Input("rd_expense", "fact", "研发费用", "R&D expense", "万元", "statistics"),
    Input("employees", "fact", "从业人员", "employees", "人", "statistics"),
    Input(
        "above_scale",
        "fact",
        "规上企业（1 是 / 0 否）",
        "above designated size",
        "flag",
        "statistics",
    ),
    Input("revenue_growth", "derived", "营业收入增长率", "revenue growth", "ratio", "statistics"),
    Input(
        "revenue_growth_mean_2y",
        "derived",
        "近两年营业收入平均增长率",
        "mean revenue growth, 2 years",
        "ratio",
        "statistics",
    ),
    Input(
        "revenue_growth_min_2y",
        "derived",
        "近两年营业收入增长率（较低一年）",
        "revenue growth, lower of 2 years",
        "ratio",
        "statistics",
    ),
    Input("rd_ratio", "derived", "研发费用占营业收入比重", "R&D intensity", "ratio", "statistics"),
    Input(
        "rd_ratio_min_2y",
        "derived",
        "近两年研发费用占比（较低一年）",
        "R&D intensity, lower of 2 years",
        "ratio",
        "statistics",
    ),
    Input(
        "rd_expense_mean_2y",
        "derived",
        "近两年研发费用平均",
        "mean R&D expense, 2 years",
        "万元",
        "statistics",
    ),
    Input(
        "rd_expense_total_2y",
        "derived",
        "近两年研发费用合计",
        "R&D expense, 2 years total",
        "万元",
        "statistics",
    ),
    Input(
        "net_profit_growth_mean",
        "derived",
        "近两年利润平均增长率",
        "mean profit growth, 2 years",
        "ratio",
        "statistics",
    ),
    Input("sme", "derived", "中小企业（1 是 / 0 否）", "SME", "flag", "statistics"),
    Input("rd_staff_ratio", "derived", "研发人员占比", "R&D staff share", "ratio", "enterprise"),
    Input(
        "invention_patents_per_100",
        "derived",
        "每百名从业人员发明专利数",
        "invention patents per 100 staff",
        "count",
        "enterprise",
    ),
    Input(
        "new_product_ratio",
        "derived",
        "新产品产值率",
        "new-product output share",
        "ratio",
        "enterprise",
    ),
    # titles (official lists): valid in the year = 1, else 0
    Input(
        "title_high_tech",
        "title",
        "高新技术企业（有效）",
        "high-tech enterprise (valid)",
        "flag",
        "list",
    ),
    Input(
        "title_innovative_sme",
        "title",
        "创新型中小企业（有效）",
        "innovative SME (valid)",
        "flag",
        "list",
    ),
    Input(
        "title_zhuanjingtexin",
        "title",
        "专精特新中小企业（有效）",
        "specialised SME (valid)",
        "flag",
        "list",
    ),
    Input("title_little_giant", "title", "小巨人（有效）", "little giant (valid)", "flag", "list"),
    Input(
        "title_single_champion",
        "title",
        "单项冠军（有效）",
        "single champion (valid)",
        "flag",
        "list",
    ),
    Input(
        "title_hidden_champion",
        "title",
        "隐形冠军（有效）",
        "hidden champion (valid)",
        "flag",
        "list",
    ),
    # declared by the enterprise with evidence
    Input(
        "ip_class1_high_value",
        "declared",
        "Ⅰ类高价值知识产权数",
        "high-value class-I IP",
        "count",
        "enterprise",
    ),
    Input(
        "ip_class1_own",
        "declared",
        "自主研发Ⅰ类知识产权数",
        "own class-I IP",
        "count",
        "enterprise",
    ),
    Input(
        "ip_class1_total",
        "declared",
        "Ⅰ类知识产权数（主导产品）",
        "class-I IP on main product",
        "count",
        "enterprise",
    ),
    Input("ip_class2", "declared", "Ⅱ类知识产权数", "class-II IP", "count", "enterprise"),
    Input(
        "invention_patents",
        "declared",
        "有效发明专利数",
        "valid invention patents",
        "count",
        "enterprise",
    ),
    Input(
        "ip_demo_enterprise",
        "declared",
        "知识产权/技术创新示范企业（1/0）",
        "IP or innovation demonstration enterprise",
        "flag",
        "enterprise",
    ),
    Input("debt_ratio", "declared", "资产负债率", "debt-to-asset ratio", "ratio", "enterprise"),
    Input(
        "main_business_share",
        "declared",
        "主营业务收入占营业收入比重",
        "main-business share of revenue",
        "ratio",
        "enterprise",
    ),
    Input(
        "strategic_emerging",
        "declared",
        "主导产品属战略性新兴产业（1/0）",
        "main product in strategic emerging industries",
        "flag",
        "enterprise",
    ),
    Input(
        "niche_years", "declared", "从事细分市场年限", "years in the niche", "year", "enterprise"
    ),
    Input("operating_years", "declared", "经营年限", "years operating", "year", "enterprise"),
    Input(
        "equity_3y",
        "declared",
        "近三年新增股权融资",
        "equity raised, last 3 years",
        "万元",
        "enterprise",
    ),
    Input(
        "equity_2y",
        "declared",
        "近两年新增股权融资",
        "equity raised, last 2 years",
        "万元",
        "enterprise",
    ),
    Input(
        "equity_total", "declared", "累计股权融资", "equity raised in total", "万元", "enterprise"
    ),
    Input(
        "sci_award_3y",
        "declared",
        "近三年获省级以上科技奖励（1/0）",
        "S&T award, last 3 years",
        "flag",
        "enterprise",
    ),
    Input(
        "sci_award_top",
        "declared",
        "近三年省级科技奖前三/国家级前五（1/0）",
        "top S&T award rank",
        "flag",
        "enterprise",
    ),
    Input(
        "sci_award_top3",
        "declared",
        "近三年科技奖排名前三（1/0）",
        "S&T award rank ≤ 3",
        "flag",
        "enterprise",
    ),
    Input(
        "maker_top500",
        "declared",
        "创客中国全国 500 强（1/0）",
        "Maker China SME contest, top 500",
        "flag",
        "enterprise",
    ),
    Input(
        "maker_top50",
        "declared",
        "创客中国全国 50 强（1/0）",
        "Maker China SME contest, top 50",
        "flag",
        "enterprise",
    ),
    Input(
        "prov_rd_institution",
        "declared",
        "省部级研发机构（1/0）",
        "provincial R&D institution",
        "flag",
        "enterprise",
    ),
    Input(
        "rd_institution",
        "declared",
        "自建或合作研发机构（1/0）",
        "own or joint R&D institution",
        "flag",
        "enterprise",
    ),
    Input(
        "zjtx_score",
        "declared",
        "专精特新评价得分（省级评分表）",
        "specialised-SME score (provincial table)",
        "score",
        "enterprise",
    ),
    Input(
        "info_system",
        "declared",
        "核心业务采用信息系统（1/0）",
        "core business on information systems",
        "flag",
        "enterprise",
    ),
    Input(
        "certification",
        "declared",
        "管理体系或产品认证（1/0）",
        "management or product certification",
        "flag",
        "enterprise",
    ),
    Input(
        "market_share_national",
        "declared",
        "主导产品全国细分市场占有率",
        "national niche market share",
        "ratio",
        "enterprise",
    ),
    Input(
        "market_rank_global",
        "declared",
        "主导产品全球市场排名",
        "global market rank",
        "rank",
        "enterprise",
    ),
    Input(
        "market_rank_national",
        "declared",
        "主导产品全国市场排名",
        "national market rank",
        "rank",
        "enterprise",
    ),
    Input("own_brand", "declared", "自主品牌（1/0）", "own brand", "flag", "enterprise"),
    Input("rd_staff", "declared", "研发人员数", "R&D staff", "人", "enterprise"),
    Input(
        "new_product_output", "declared", "新产品产值", "new-product output", "万元", "enterprise"
    ),
    Input(
        "violations_3y",
        "declared",
        "近三年环保/质量/安全违法（1/0）",
        "violations, last 3 years",
        "flag",
        "enterprise",
    ),
    Input(
        "key_field",
        "declared",
        "属重点产业领域（1/0）",
        "in a key industry field",
        "flag",
        "enterprise",
    ),
    # 小巨人 链 and 品 (details [PRIOR], see parameters/schemes/little_giant.yaml)
    Input(
        "chain_key_link",
        "declared",
        "位于重点产业链关键环节，发挥补短板/锻长板/填空白作用（1/0）",
        "at a key link of a key industrial chain (filling a gap, 1/0)",
        "flag",
        "chain",
    ),
    Input(
        "key_product_field",
        "declared",
        "主导产品属工业“六基”、制造强国十大重点领域或网络强国关键领域（1/0）",
        "main product in the industrial foundations or the key fields (1/0)",
        "flag",
        "enterprise",
    ),
    # 单项冠军 product category: the product applied for (统计用产品分类 8/10-digit code)
    Input(
        "product_sales_share",
        "declared",
        "申报产品销售收入占主营业务收入比重",
        "the applied product's share of main-business revenue",
        "ratio",
        "enterprise",
    ),
    Input(
        "product_rank_global",
        "declared",
        "申报产品全球市场占有率排名",
        "the applied product's global market-share rank",
        "rank",
        "enterprise",
    ),
    Input(
        "product_years",
        "declared",
        "从事申报产品领域年限",
        "years in the applied product's field",
        "year",
        "enterprise",
    ),
    Input(
        "product_new",
        "declared",
        "申报产品为新产品（1/0）",
        "the applied product is a new product (1/0)",
        "flag",
        "enterprise",
    ),
    Input(
        "credit_ok",
        "declared",
        "银行信用 A 级以上或无不良（1/0）",
        "credit rating ≥ A or clean",
        "flag",
        "enterprise",
    ),
]

INPUTS: dict[str, Input] = {i.code: i for i in _ALL}
DECLARABLE: list[str] = [i.code for i in _ALL if i.kind == "declared"]
TITLE_TIERS = {
    "title_high_tech": "high_tech",
    "title_innovative_sme": "innovative_sme",
    "title_zhuanjingtexin": "zhuanjingtexin",
    "title_little_giant": "little_giant",
    "title_single_champion": "single_champion",
    "title_hidden_champion": "hidden_champion",
}
#: every tier code (the ladder's and 高新技术企业, recognised by lists only)
TIERS: dict[str, tuple[str, str]] = {
    "new_above_scale": ("新升规", "newly above designated size"),
    "innovative_sme": ("创新型中小企业", "innovative SME"),
    "zhuanjingtexin": ("专精特新中小企业", "specialised and innovative SME"),
    "little_giant": ("专精特新“小巨人”", '"little giant"'),
    "hidden_champion": ("浙江省隐形冠军", "Zhejiang hidden champion"),
    "single_champion": ("制造业单项冠军", "single champion"),
    "high_tech": ("高新技术企业", "high-tech enterprise"),
}


def provider(code: str) -> tuple[str, str]:
    inp = INPUTS.get(code)
    return PROVIDERS[inp.provider] if inp else ("—", "—")
