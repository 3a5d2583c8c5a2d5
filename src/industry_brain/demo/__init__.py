"""Deterministic synthetic demo city (示范城市) shaped like Huzhou (湖州市).

``build_city`` writes the department files (部门报送文件) of five counties — about 3 800 规上 and
6 000 规下 industrial enterprises at ``scale="city"``, five data years — the way departments send
them, with deliberate defects listed in the manifest; ``seed_operational`` then puts 项目钉
projects and users of every role into a store whose enterprises have been imported.

Everything is drawn from numpy ``Generator(PCG64(...))`` seeded by ``seed``; the same seed gives
byte-identical files and the same store. The demo's "today" is :data:`DEMO_TODAY`.
"""

from industry_brain.demo.build import build_city, enterprise_rows, write_province
from industry_brain.demo.constants import (
    DEFAULT_SEED,
    DEMO_TODAY,
    SCALES,
    YEARS,
    scale_of,
    use_firms,
)
from industry_brain.demo.manifest import DemoManifest
from industry_brain.demo.operational import DEMO_PASSWORD, STAGES, password_hash, seed_operational

__all__ = [
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DEMO_TODAY",
    "SCALES",
    "STAGES",
    "YEARS",
    "DemoManifest",
    "build_city",
    "enterprise_rows",
    "password_hash",
    "scale_of",
    "seed_operational",
    "use_firms",
    "write_province",
]
