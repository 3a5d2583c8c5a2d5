"""Benchmarks: ``make bench`` (= ``python -m bench``). Each compares against a baseline measured
in the same run and prints the ratio; results are also written to ``bench/results/latest.json``.

    python -m bench                 # all benchmarks
    python -m bench ingest --rows 200000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    carbon,
    ids,
    ingest_power,
    market,
    mujun,
    policy,
    province,
    reference,
    snapshot,
    web,
)

BENCHES = {
    "ingest": ingest_power.run,
    "mujun": mujun.run,
    "carbon": carbon.run,
    "web": web.run,
    "reference": reference.run,
    "policy": policy.run,
    "ids": ids.run,
    "province": province.run,
    "market": market.run,
    "snapshot": snapshot.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHES)}")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the power CSV")
    args = parser.parse_args(argv)
    # the province bench measures the snapshot of its own store: not twice by default
    names = args.names or [n for n in BENCHES if n != "snapshot"]
    results = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}",
        "results": {},
    }
    failed = False
    for name in names:
        out = BENCHES[name](rows=args.rows)
        results["results"][name] = out
        failed |= not out.get("target_met", True)
    path = Path(__file__).parent / "results"
    path.mkdir(exist_ok=True)
    (path / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
