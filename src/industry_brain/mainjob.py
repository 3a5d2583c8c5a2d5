"""The main job (`make demo`): build the demo city, load it through the real ingest path, seed
projects and users, and summarise. Every service joins this job once it is built."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from industry_brain.core import memory
from industry_brain.core.progress import Progress
from industry_brain.ingest.many import FileJob, import_files
from industry_brain.ingest.pipeline import ImportResult
from industry_brain.store import codes, migrate, replay
from industry_brain.store.db import describe, get_engine
from industry_brain.store.models import (
    Enterprise,
    EnterpriseScale,
    Fact,
    ImportBatch,
    MatchReview,
    Project,
    User,
)


@dataclass
class DemoRun:
    out_dir: Path
    database: str
    scale: str
    seed: int
    region: str = "330500"
    region_name: str = "湖州市"
    imports: list[ImportResult] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    operational: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "database": self.database,
            "scale": self.scale,
            "seed": self.seed,
            "region": self.region,
            "region_name": self.region_name,
            "imports": [r.to_dict(with_problems=False) for r in self.imports],
            "operational": self.operational,
            "summary": self.summary,
            "services": self.services,
        }


def reset_store(engine: Engine) -> None:
    """Empty the store: downgrade to base, then upgrade (works on SQLite and PostgreSQL)."""
    migrate.downgrade(engine, "base")
    migrate.upgrade(engine)


def run_demo(
    out_dir: Path,
    scale: str = "city",
    seed: int = 20261127,
    engine: Engine | None = None,
    reset: bool = True,
    progress: Progress | None = None,
    region: str | None = None,
    import_workers: int | None = None,
) -> DemoRun:
    """Build the demo city of ``region`` (a prefecture code; default Huzhou 330500) into
    ``out_dir`` and run the main job on the store, with that city as the jurisdiction.
    ``import_workers``: processes importing independent departments' files side by side on
    PostgreSQL (:func:`industry_brain.ingest.many.workers_for`)."""
    from industry_brain.demo.cities import city_for
    from industry_brain.demo.constants import use_city

    demo_city = city_for(region)
    with use_city(demo_city), _jurisdiction(demo_city.code):
        return _run_demo(out_dir, scale, seed, engine, reset, progress, demo_city, import_workers)


@contextmanager
def _jurisdiction(code: str) -> Iterator[None]:
    """``IB_JURISDICTION`` set to ``code`` for the block (the demo's city is its jurisdiction)."""
    saved = os.environ.get("IB_JURISDICTION")
    os.environ["IB_JURISDICTION"] = code
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("IB_JURISDICTION", None)
        else:
            os.environ["IB_JURISDICTION"] = saved


def _run_demo(
    out_dir: Path,
    scale: str,
    seed: int,
    engine: Engine | None,
    reset: bool,
    progress: Progress | None,
    demo_city: Any,
    import_workers: int | None = None,
) -> DemoRun:
    from industry_brain import demo

    engine = engine or get_engine()
    step = progress or (lambda *_: None)
    run = DemoRun(
        out_dir=out_dir,
        database=describe(str(engine.url)),
        scale=scale,
        seed=seed,
        region=demo_city.code,
        region_name=demo_city.name,
    )
    fresh = migrate.current_revision(engine) is None  # an empty database: nothing to reset
    migrate.upgrade(engine)
    if reset and not fresh:  # downgrading and upgrading a just-migrated store again: ~3 s
        reset_store(engine)
    manifest = demo.build_city(out_dir, scale=scale, seed=seed, progress=step)
    memory.release()  # the generator's tables, before the imports and services
    run.manifest = manifest.to_dict()
    if not demo.scale_of(scale).files:  # province without --firms: Parquet for benchmarks
        run.summary = {"parquet": str(out_dir), "counts": run.manifest.get("counts", {})}
        return run
    files = run.manifest["files"]
    # independent departments side by side on PostgreSQL (``ingest.many``), in order on SQLite
    run.imports = import_files(
        [
            FileJob(
                e["kind"], out_dir / e["path"], e.get("sheet"), e.get("year"), e.get("encoding")
            )
            for e in files
        ],
        engine=engine,
        workers=import_workers,
        accept_valid=True,
        report_dir=out_dir / "reports",
        on_day=demo.DEMO_TODAY,  # the demo runs on its own day (batches stamped on it)
        progress=step,
    )
    with Session(engine) as session:
        run.operational = demo.seed_operational(session, out_dir, scale=scale, seed=seed)
        session.commit()
    run.summary = summarise(engine)
    with replay.replaying(demo.DEMO_TODAY):  # the services' own list imports too
        run.services = run_services(engine, out_dir, step)
    return run


def run_services(
    engine: Engine,
    out_dir: Path,
    progress: Progress | None = None,
    names: Collection[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the services' main-job hooks in order (only ``names`` when given): service →
    summary."""
    step = progress or (lambda *_: None)
    out: dict[str, dict[str, Any]] = {}
    for name, hook in service_hooks():
        if names is not None and name not in names:
            continue
        step(name, 0, 1)
        out[name] = hook.run(engine, out_dir, progress=step)
        memory.release()  # the service's frames, before the next service
        step(name, 1, 1)
    return out


def service_hooks() -> list[tuple[str, Any]]:
    """Services that join the main job: each service's ``ib_demo_hook`` (see
    :mod:`industry_brain.contract`), ordered by its ``ORDER`` then name."""
    from industry_brain import contract

    hooks = list(contract.each("demo_hook"))
    return sorted(hooks, key=lambda h: (getattr(h[1], "ORDER", 100), h[0]))


def summarise(engine: Engine) -> dict[str, Any]:
    """Counts by county and scale (latest year), facts, batches, reviews, projects, users."""
    with Session(engine) as session:
        latest = session.scalar(select(func.max(EnterpriseScale.year)))
        counties = dict(codes.jurisdiction_counties(session))
        county_codes = sorted(counties)
        by_county: dict[str, dict[str, int]] = {
            name: {"above": 0, "below": 0, "unknown": 0, "total": 0} for name in counties.values()
        }
        rows = session.execute(
            select(Enterprise.county_code, EnterpriseScale.above_scale, func.count())
            .select_from(Enterprise)
            .outerjoin(
                EnterpriseScale,
                (EnterpriseScale.enterprise_id == Enterprise.id) & (EnterpriseScale.year == latest),
            )
            .group_by(Enterprise.county_code, EnterpriseScale.above_scale)
        ).all()
        for county, above, n in rows:
            name = counties.get(county, county or "未知")
            bucket = by_county.setdefault(name, {"above": 0, "below": 0, "unknown": 0, "total": 0})
            key = "unknown" if above is None else ("above" if above else "below")
            bucket[key] += n
            bucket["total"] += n
        batches = dict(
            session.execute(
                select(ImportBatch.status, func.count()).group_by(ImportBatch.status)
            ).all()
        )
        example = session.scalar(
            select(Enterprise.uscc)
            .join(EnterpriseScale, EnterpriseScale.enterprise_id == Enterprise.id)
            .where(EnterpriseScale.year == latest, EnterpriseScale.above_scale.is_(True))
            .order_by(Enterprise.id)
            .limit(1)
        )
        return {
            "latest_year": latest,
            "example_uscc": example,
            "county_codes": county_codes,
            "enterprises": session.scalar(select(func.count()).select_from(Enterprise)),
            "by_county": by_county,
            "facts": session.scalar(select(func.count()).select_from(Fact)),
            "batches": batches,
            "open_reviews": session.scalar(
                select(func.count()).select_from(MatchReview).where(MatchReview.status == "open")
            ),
            "projects": session.scalar(select(func.count()).select_from(Project)),
            "users": session.scalar(select(func.count()).select_from(User)),
            # one demo user of each role, to sign in to the web platform with
            "sign_in": {
                role: name
                for role, name in session.execute(
                    select(User.role, func.min(User.username)).group_by(User.role)
                ).all()
            },
        }
