"""Parameters of the synthetic economy: per-division ratios (增加值率, 税负, 能耗), fuels, names.

These are plausible magnitudes for a Zhejiang prefecture city, calibrated loosely against the
亩均 benchmarks in the domain pack (亩均税收 ≈ 25 万元/亩, 亩均增加值 ≈ 135 万元/亩 for 规上,
单位能耗增加值 ≈ 2.6 万元/tce); they are demo data, not statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

#: Fuels of the energy report (统计能源消费): key, Chinese name, physical unit, tce per unit.
FUELS: tuple[tuple[str, str, str, float], ...] = (
    ("coal_raw", "原煤", "吨", 0.7143),
    ("coke", "焦炭", "吨", 0.9714),
    ("natural_gas", "天然气", "万立方米", 13.300),
    ("fuel_oil", "燃料油", "吨", 1.4286),
    ("diesel", "柴油", "吨", 1.4571),
    ("gasoline", "汽油", "吨", 1.4714),
    ("lpg", "液化石油气", "吨", 1.7143),
    ("heat", "外购热力", "吉焦", 0.03412),
)
FUEL_KEYS: tuple[str, ...] = tuple(f[0] for f in FUELS)
#: Electricity, calorific value (当量值): 0.1229 kgce per kWh.
TCE_PER_KWH = 0.1229e-3

#: Main pollutants (主要污染物): key, Chinese name.
POLLUTANTS: tuple[tuple[str, str], ...] = (
    ("cod", "化学需氧量"),
    ("ammonia", "氨氮"),
    ("so2", "二氧化硫"),
    ("nox", "氮氧化物"),
)

#: Monthly electricity seasonality (春节 dip in February, summer cooling peak); mean 1.
_SEASON = (1.02, 0.72, 1.00, 1.01, 1.02, 1.04, 1.12, 1.14, 1.04, 1.00, 0.97, 0.92)
SEASON: tuple[float, ...] = tuple(s * 12 / sum(_SEASON) for s in _SEASON)


@dataclass(frozen=True)
class Division:
    """Economic ratios of one GB/T 4754 division (大类)."""

    code: str
    va_rate: float  # 工业增加值 / 工业总产值
    margin: float  # 利润总额 / 营业收入
    revenue_per_employee: float  # 万元 per person
    rd_rate: float  # R&D经费 / 营业收入 of a 规上 firm
    output_per_mu: float  # 万元 output per 亩 of a 规上 firm
    kwh_per_wanyuan: float  # electricity per 万元 output
    fuel_tce_per_wanyuan: float  # non-electric energy per 万元 output
    fuel_mix: dict[str, float] = field(default_factory=dict)
    emissions_kg: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # COD, NH3, SO2, NOx
    size: float = 1.0  # multiplier of 规上 revenue (heavy industry runs bigger plants)
    weight: float = 1.0  # share of the city's enterprises (before county specialisation)
    words: tuple[str, ...] = ("制品",)


def _d(code: str, *args: object, **kw: object) -> Division:
    return Division(code, *args, **kw)  # type: ignore[arg-type]


_GAS_DIESEL = {"natural_gas": 0.65, "diesel": 0.35}
DIVISIONS: dict[str, Division] = {
    d.code: d
    for d in (
        _d("13", 0.20, 0.04, 120, 0.008, 720, 200, 0.015,
           {"natural_gas": 0.6, "coal_raw": 0.2, "lpg": 0.1, "diesel": 0.1},
           (0.015, 0.0015, 0.002, 0.003), 1.0, 2.0, ("粮油", "米业", "饲料")),
        _d("14", 0.28, 0.06, 90, 0.012, 660, 240, 0.018,
           {"natural_gas": 0.7, "lpg": 0.15, "diesel": 0.15},
           (0.012, 0.0012, 0.001, 0.002), 1.0, 1.5, ("食品",)),
        _d("15", 0.32, 0.08, 80, 0.01, 600, 200, 0.02,
           {"natural_gas": 0.6, "coal_raw": 0.2, "diesel": 0.2},
           (0.02, 0.002, 0.002, 0.003), 1.0, 1.2, ("酒业", "茶业")),
        _d("16", 0.55, 0.20, 300, 0.005, 1800, 120, 0.005, {"natural_gas": 1.0},
           (0.001, 0.0001, 0.0005, 0.001), 3.0, 0.02, ("卷烟",)),
        _d("17", 0.20, 0.04, 70, 0.015, 540, 720, 0.04,
           {"heat": 0.5, "natural_gas": 0.3, "coal_raw": 0.15, "diesel": 0.05},
           (0.035, 0.003, 0.005, 0.006), 1.1, 9.0, ("纺织", "丝绸", "织造")),
        _d("18", 0.25, 0.05, 45, 0.01, 840, 120, 0.004, _GAS_DIESEL,
           (0.002, 0.0002, 0.0, 0.0005), 0.8, 6.0, ("服饰", "童装", "制衣")),
        _d("19", 0.22, 0.05, 50, 0.01, 720, 160, 0.007, _GAS_DIESEL,
           (0.02, 0.003, 0.001, 0.002), 0.9, 1.0, ("皮革", "鞋业")),
        _d("20", 0.22, 0.05, 60, 0.01, 420, 280, 0.025,
           {"coal_raw": 0.3, "natural_gas": 0.3, "diesel": 0.2, "heat": 0.2},
           (0.002, 0.0002, 0.005, 0.006), 0.9, 3.0, ("木业", "竹业", "竹木")),
        _d("21", 0.24, 0.05, 55, 0.015, 540, 200, 0.007, _GAS_DIESEL,
           (0.001, 0.0001, 0.001, 0.002), 1.0, 5.0, ("家具", "椅业")),
        _d("22", 0.22, 0.05, 110, 0.012, 360, 720, 0.125,
           {"coal_raw": 0.5, "heat": 0.3, "natural_gas": 0.2},
           (0.06, 0.004, 0.015, 0.018), 1.2, 2.0, ("纸业", "包装")),
        _d("23", 0.28, 0.06, 70, 0.015, 600, 200, 0.005, _GAS_DIESEL,
           (0.001, 0.0001, 0.0, 0.0005), 0.8, 1.5, ("印刷", "彩印")),
        _d("24", 0.25, 0.05, 60, 0.015, 660, 160, 0.005, _GAS_DIESEL,
           (0.001, 0.0001, 0.0, 0.0005), 0.8, 1.5, ("文具", "工艺品", "体育用品")),
        _d("25", 0.15, 0.03, 400, 0.005, 480, 280, 0.45,
           {"coal_raw": 0.6, "coke": 0.1, "fuel_oil": 0.2, "natural_gas": 0.1},
           (0.005, 0.0005, 0.05, 0.06), 2.0, 0.2, ("石化", "能源")),
        _d("26", 0.24, 0.07, 200, 0.025, 420, 560, 0.15,
           {"coal_raw": 0.35, "natural_gas": 0.35, "heat": 0.2, "fuel_oil": 0.1},
           (0.025, 0.004, 0.015, 0.015), 1.4, 3.0, ("化工", "新材料", "涂料")),
        _d("27", 0.38, 0.12, 120, 0.05, 720, 320, 0.025, {"natural_gas": 0.6, "heat": 0.4},
           (0.02, 0.003, 0.001, 0.002), 1.3, 1.5, ("药业", "生物医药", "制药")),
        _d("28", 0.16, 0.04, 180, 0.015, 360, 960, 0.1,
           {"coal_raw": 0.4, "natural_gas": 0.3, "heat": 0.3},
           (0.01, 0.001, 0.01, 0.012), 1.8, 2.0, ("化纤", "锦纶")),
        _d("29", 0.22, 0.06, 90, 0.018, 600, 400, 0.01, _GAS_DIESEL,
           (0.002, 0.0002, 0.001, 0.002), 1.0, 5.0, ("塑业", "橡塑", "塑胶")),
        _d("30", 0.26, 0.08, 110, 0.012, 300, 1120, 0.45,
           {"coal_raw": 0.6, "natural_gas": 0.25, "diesel": 0.1, "fuel_oil": 0.05},
           (0.002, 0.0002, 0.06, 0.12), 1.4, 6.0, ("建材", "耐火材料", "新型建材")),
        _d("31", 0.14, 0.03, 300, 0.01, 420, 1200, 0.225,
           {"coke": 0.45, "coal_raw": 0.25, "natural_gas": 0.3},
           (0.002, 0.0002, 0.04, 0.05), 2.5, 0.6, ("钢铁", "特钢", "钢业")),
        _d("32", 0.12, 0.03, 350, 0.012, 600, 880, 0.075,
           {"natural_gas": 0.7, "coal_raw": 0.2, "diesel": 0.1},
           (0.002, 0.0002, 0.02, 0.015), 1.8, 1.2, ("铝业", "铜业", "有色金属")),
        _d("33", 0.22, 0.05, 90, 0.02, 600, 360, 0.02,
           {"natural_gas": 0.7, "diesel": 0.2, "lpg": 0.1},
           (0.003, 0.0003, 0.002, 0.003), 1.0, 8.0, ("金属制品", "五金", "钢结构")),
        _d("34", 0.25, 0.07, 90, 0.035, 720, 160, 0.007, _GAS_DIESEL,
           (0.001, 0.0001, 0.0005, 0.001), 1.0, 9.0, ("机械", "轴承", "液压")),
        _d("35", 0.27, 0.07, 90, 0.04, 720, 140, 0.006, _GAS_DIESEL,
           (0.001, 0.0001, 0.0005, 0.001), 1.0, 5.0, ("机械设备", "装备", "智能装备")),
        _d("36", 0.20, 0.06, 150, 0.03, 840, 180, 0.007, {"natural_gas": 0.7, "diesel": 0.3},
           (0.001, 0.0001, 0.0005, 0.001), 2.0, 4.0, ("汽车部件", "汽配")),
        _d("37", 0.22, 0.05, 100, 0.03, 720, 160, 0.007, _GAS_DIESEL,
           (0.001, 0.0001, 0.0005, 0.001), 1.0, 1.5, ("车业", "摩托车")),
        _d("38", 0.20, 0.06, 130, 0.035, 960, 200, 0.006, {"natural_gas": 0.7, "diesel": 0.3},
           (0.002, 0.0003, 0.0005, 0.001), 1.5, 8.0, ("电机", "电器", "电源")),
        _d("39", 0.22, 0.07, 110, 0.05, 1080, 120, 0.004, {"natural_gas": 0.8, "diesel": 0.2},
           (0.001, 0.0001, 0.0, 0.0005), 1.3, 3.0, ("电子", "光电")),
        _d("40", 0.32, 0.10, 80, 0.06, 1080, 100, 0.003, {"natural_gas": 0.8, "diesel": 0.2},
           (0.0005, 0.0001, 0.0, 0.0003), 1.0, 1.5, ("仪器", "仪表", "自动化")),
        _d("41", 0.22, 0.05, 60, 0.01, 600, 160, 0.005, _GAS_DIESEL,
           (0.001, 0.0001, 0.0, 0.0005), 0.8, 1.0, ("制品", "工艺")),
        _d("42", 0.15, 0.04, 150, 0.008, 420, 320, 0.025,
           {"natural_gas": 0.5, "coal_raw": 0.3, "diesel": 0.2},
           (0.005, 0.0005, 0.005, 0.005), 1.0, 1.0, ("再生资源", "环保科技")),
        _d("43", 0.30, 0.06, 60, 0.01, 600, 120, 0.005, {"diesel": 0.6, "natural_gas": 0.4},
           (0.0005, 0.0001, 0.0, 0.0003), 0.8, 0.5, ("机电设备", "设备维修")),
    )
}  # fmt: skip

#: Divisions with heavy energy use and pollution (重点用能、重点排污).
HEAVY_DIVISIONS: frozenset[str] = frozenset({"17", "22", "25", "26", "28", "30", "31", "32"})

#: Per-county specialisation: multipliers of the division weights.
COUNTY_SPECIALITIES: dict[str, dict[str, float]] = {
    "330502": {"18": 3.0, "17": 1.5, "34": 1.2, "39": 1.5},  # 吴兴: 织里童装
    "330503": {"20": 2.5, "21": 2.0, "38": 1.5, "34": 1.5, "17": 1.3},  # 南浔: 木业、电机
    "330521": {"30": 1.3, "27": 2.5, "35": 1.5, "40": 2.0, "36": 1.3, "39": 1.3},  # 德清
    "330522": {"30": 2.0, "38": 2.5, "17": 1.8, "28": 2.0, "31": 2.0, "26": 1.5},  # 长兴: 蓄电池
    "330523": {"21": 4.0, "20": 3.0, "15": 3.0, "22": 1.5, "13": 1.3},  # 安吉: 椅业、竹、白茶
}

#: Words for the industry part of a company name, by 4-digit class where it matters.
CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "1514": ("酒业",),
    "1530": ("茶业", "白茶"),
    "1713": ("印染",),
    "1761": ("针织",),
    "1953": ("鞋业",),
    "2041": ("竹业", "竹制品"),
    "2120": ("家具", "竹藤家具"),
    "2631": ("农药", "化工"),
    "2641": ("涂料",),
    "2740": ("中药", "药业"),
    "2911": ("轮胎",),
    "3011": ("水泥",),
    "3041": ("玻璃",),
    "3071": ("陶瓷",),
    "3251": ("铜业",),
    "3216": ("铝业",),
    "3411": ("锅炉",),
    "3451": ("轴承",),
    "3551": ("纺织机械",),
    "3751": ("摩托车",),
    "3761": ("车业",),
    "3811": ("电机",),
    "3841": ("电源", "电池", "新能源"),
    "3854": ("电器", "厨具"),
    "3871": ("照明", "光电"),
    "3982": ("电路", "电子"),
    "3985": ("电子材料", "新材料"),
    "4011": ("自动化",),
    "4028": ("仪器",),
}

#: Characters for the 字号 (trade name) of synthetic companies.
TRADE_CHARS = (
    "鑫华恒达宏盛兴隆丰泰瑞祥金天海宇星正东新永昌明辉博远信诚德安康美佳立力通振发利源益润嘉"
    "和合众创伟鸿锦顺旺富荣升腾飞龙凤晨阳光峰江浩森林扬联建成中开凯捷亿万宝福汇银铭晟昊睿智"
    "翔航洲越卓奥雅豪迪特普惠科晶圣祺弘茂鼎骏耀锐泓琪欣悦"
)
#: Road names for synthetic addresses.
ROADS = (
    "康泰路", "工业大道", "振兴路", "富民路", "新兴路", "东升路", "凤凰路", "太湖路",
    "环城路", "创业大道", "科技路", "滨湖大道", "经一路", "纬二路", "开发大道", "兴业路",
    "长安路", "青山路", "金山路", "明珠路",
)  # fmt: skip
#: Suffixes of company names with their weights (most are 有限公司).
SUFFIXES: tuple[tuple[str, float], ...] = (
    ("有限公司", 0.84),
    ("股份有限公司", 0.08),
    ("有限责任公司", 0.08),
)
#: Divisions whose names often carry 科技.
TECH_DIVISIONS: frozenset[str] = frozenset({"26", "27", "35", "38", "39", "40"})

#: Lessors of standard factory buildings (标准厂房) that are not industrial enterprises.
PARK_LESSORS: dict[str, tuple[str, ...]] = {
    "330502": ("湖州吴兴工业园区建设发展有限公司", "湖州织里产业园开发有限公司"),
    "330503": ("湖州南浔经济开发区投资建设有限公司", "湖州南浔小微企业园管理有限公司"),
    "330521": ("德清县工业园区开发建设有限公司", "德清县小微企业创业园管理有限公司"),
    "330522": ("长兴经济技术开发区建设发展有限公司", "长兴县小微企业园开发有限公司"),
    "330523": ("安吉县经济开发区建设发展有限公司", "安吉县小微企业园管理有限公司"),
}


#: The GB/T 4754-2017 classes the demo city's enterprises are drawn from (a curated set shaped
#: like Huzhou's industry; every code is checked against the shipped table by the tests).
DEMO_CLASSES: tuple[str, ...] = (
    "1311", "1391", "1431", "1461", "1514", "1530", "1620", "1711", "1713", "1751", "1761",
    "1811", "1819", "1830", "1910", "1953", "2021", "2041", "2110", "2120", "2231", "2319",
    "2411", "2439", "2511", "2521", "2614", "2631", "2641", "2710", "2740", "2821", "2822",
    "2911", "2929", "3011", "3021", "3041", "3071", "3110", "3130", "3216", "3251", "3311",
    "3340", "3411", "3444", "3451", "3511", "3551", "3611", "3670", "3751", "3761", "3811",
    "3841", "3854", "3871", "3911", "3982", "3985", "4011", "4028", "4190", "4210", "4220",
    "4320",
)  # fmt: skip


@cache
def classes_by_division() -> dict[str, tuple[str, ...]]:
    """The demo's 4-digit classes by division."""
    out: dict[str, list[str]] = {}
    for code in DEMO_CLASSES:
        out.setdefault(code[:2], []).append(code)
    return {div: tuple(sorted(codes)) for div, codes in sorted(out.items())}


def division_codes() -> tuple[str, ...]:
    """Divisions 13–43 that have at least one class in the reference table."""
    classes = classes_by_division()
    return tuple(code for code in DIVISIONS if code in classes)


def words_for(class_code: str) -> tuple[str, ...]:
    """Industry words for a company name of this class."""
    return CLASS_WORDS.get(class_code) or DIVISIONS[class_code[:2]].words
