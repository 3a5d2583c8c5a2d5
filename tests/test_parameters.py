"""Dated, regional parameters: resolution by date and region, load-time validation, versions."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from industry_brain.core import parameters
from industry_brain.core.parameters import ParameterError, Parameters, load_dirs, region_chain

BASE = """
description: 测试参数 / test parameters
mujun:
  description: 亩均评价
  weight:
    description: 亩均税收权重 / weight of tax per mu
    unit: 分
    type: number
    source: 基础文件
    quality: DEFAULT
    values:
      - since: 2020-01-01
        value: 30
      - since: 2024-07-01
        value: 35
        source: 2024年修订
  threshold:
    description: 规上门槛 / above-scale threshold
    unit: 万元
    type: number
    quality: V
    values:
      - since: 2011-01-01
        value: 2000
  retired:
    description: 已废止 / retired
    type: integer
    values:
      - since: 2020-01-01
        value: 5
      - since: 2023-01-01
        value: null
  pilot:
    type: boolean
    values:
      - since: 2022-01-01
        until: 2023-01-01
        value: true
  tiers:
    type: mapping
    values:
      - since: 2020-01-01
        value: {A: 80, B: 60}
"""

PROVINCE = """
mujun:
  threshold:
    values:
      - since: 2020-01-01
        value: 1800
"""

CITY = """
mujun:
  threshold:
    values:
      - since: 2020-01-01
        value: 1500
  weight:
    source: 湖州市文件
    values:
      - since: 2020-01-01
        value: 32
"""

COUNTY = """
mujun:
  threshold:
    values:
      - since: 2022-01-01
        value: 1000
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def pdir(tmp_path: Path) -> Path:
    folder = tmp_path / "parameters"
    folder.mkdir()
    write(folder, "demo.yaml", BASE)
    write(folder, "demo.330000.yaml", PROVINCE)
    write(folder, "demo.330500.yaml", CITY)
    write(folder, "demo.330502.yaml", COUNTY)
    return folder


@pytest.fixture
def params(pdir: Path) -> Parameters:
    return load_dirs([pdir])


def load_error(folder: Path) -> ParameterError:
    with pytest.raises(ParameterError) as info:
        load_dirs([folder])
    return info.value


# -- dates ------------------------------------------------------------------------------------
def test_value_changes_exactly_on_since(params: Parameters) -> None:
    assert params.get("demo.mujun.weight", on=date(2024, 6, 30)) == 30  # the day before
    assert params.get("demo.mujun.weight", on=date(2024, 7, 1)) == 35  # the since date
    assert params.get("demo.mujun.weight", on=date(2020, 1, 1)) == 30
    assert params.get("demo.mujun.weight", on=date(2030, 1, 1)) == 35


def test_before_first_since_is_not_in_force(params: Parameters) -> None:
    with pytest.raises(ParameterError) as info:
        params.get("demo.mujun.weight", on=date(2019, 12, 31))
    assert info.value.code == "param.not_in_force"
    assert "2019-12-31" in info.value.zh and "2019-12-31" in info.value.en


def test_null_value_ends_a_parameter(params: Parameters) -> None:
    assert params.get("demo.mujun.retired", on=date(2022, 12, 31)) == 5
    with pytest.raises(ParameterError) as info:
        params.get("demo.mujun.retired", on=date(2023, 1, 1))
    assert info.value.code == "param.not_in_force"
    assert info.value.location.file == "demo.yaml"
    assert info.value.location.field == "demo.mujun.retired"
    with pytest.raises(ParameterError):
        params.get("demo.mujun.retired", region="330502", on=date(2025, 1, 1))


def test_explicit_until_is_exclusive(params: Parameters) -> None:
    assert params.get("demo.mujun.pilot", on=date(2022, 12, 31)) is True
    with pytest.raises(ParameterError) as info:
        params.get("demo.mujun.pilot", on=date(2023, 1, 1))
    assert info.value.code == "param.not_in_force"


def test_mapping_value(params: Parameters) -> None:
    assert params.get("demo.mujun.tiers", on=date(2025, 1, 1)) == {"A": 80, "B": 60}


# -- regions ----------------------------------------------------------------------------------
def test_region_chain() -> None:
    assert region_chain("330502") == ["330502", "330500", "330000"]
    assert region_chain("330500") == ["330500", "330000"]
    assert region_chain("330000") == ["330000"]
    assert region_chain(None) == []
    with pytest.raises(ParameterError) as info:
        region_chain("33050")
    assert info.value.code == "param.region"


def test_region_resolution(params: Parameters) -> None:
    on = date(2025, 1, 1)
    get = params.get
    # county 吴兴区 overrides the city
    assert get("demo.mujun.threshold", region="330502", on=on) == 1000
    # another county of 湖州市 (南浔区) gets the city value
    assert get("demo.mujun.threshold", region="330503", on=on) == 1500
    # the city itself
    assert get("demo.mujun.threshold", region="330500", on=on) == 1500
    # another city of Zhejiang (杭州市) gets the province value
    assert get("demo.mujun.threshold", region="330100", on=on) == 1800
    # a region of another province (苏州市, 湖北省) gets the base value
    assert get("demo.mujun.threshold", region="320500", on=on) == 2000
    assert get("demo.mujun.threshold", region="420000", on=on) == 2000
    assert get("demo.mujun.threshold", on=on) == 2000
    # a key only the city overrides: the county inherits the city's value
    assert get("demo.mujun.weight", region="330502", on=on) == 32
    # a key nobody overrides comes from the base everywhere
    assert get("demo.mujun.tiers", region="330502", on=on) == {"A": 80, "B": 60}


def test_region_override_not_yet_in_force_falls_back(params: Parameters) -> None:
    # The county value starts 2022-01-01; on 2021-12-31 the city's value applies.
    assert params.get("demo.mujun.threshold", region="330502", on=date(2021, 12, 31)) == 1500
    assert params.get("demo.mujun.threshold", region="330502", on=date(2022, 1, 1)) == 1000
    # Before 2020 no regional value is in force: the base value (since 2011) applies.
    assert params.get("demo.mujun.threshold", region="330502", on=date(2019, 6, 1)) == 2000


def test_resolved_to_dict_for_a_county_override(params: Parameters) -> None:
    resolved = params.resolve("demo.mujun.threshold", region="330502", on=date(2025, 1, 1))
    assert resolved.to_dict() == {
        "key": "demo.mujun.threshold",
        "value": 1000,
        "region": "330502",
        "since": "2022-01-01",
        "until": None,
        # unit and description are declared once, in the base file
        "unit": "万元",
        "source": None,
        "quality": None,
        "description": "规上门槛 / above-scale threshold",
        "file": "demo.330502.yaml",
    }


def test_resolved_to_dict_for_the_base(params: Parameters) -> None:
    resolved = params.resolve("demo.mujun.weight", on=date(2021, 3, 1))
    assert resolved.to_dict() == {
        "key": "demo.mujun.weight",
        "value": 30,
        "region": "base",
        "since": "2020-01-01",
        "until": "2024-07-01",  # the next entry's since
        "unit": "分",
        "source": "基础文件",
        "quality": "DEFAULT",
        "description": "亩均税收权重 / weight of tax per mu",
        "file": "demo.yaml",
    }
    # an entry's own source wins over the parameter's
    later = params.resolve("demo.mujun.weight", on=date(2025, 1, 1)).to_dict()
    assert later["source"] == "2024年修订"
    assert later["until"] is None
    # a city override's own source
    city = params.resolve("demo.mujun.weight", region="330503", on=date(2025, 1, 1))
    assert (city.region, city.value, city.source, city.unit) == ("330500", 32, "湖州市文件", "分")


def test_keys_domains_and_domain(params: Parameters) -> None:
    all_keys = [
        "demo.mujun.pilot",
        "demo.mujun.retired",
        "demo.mujun.threshold",
        "demo.mujun.tiers",
        "demo.mujun.weight",
    ]
    assert params.keys() == all_keys
    assert params.keys("demo") == all_keys
    assert params.keys("demo.mujun.") == all_keys
    assert params.keys("demo.mujun.weight") == ["demo.mujun.weight"]
    assert params.keys("demo.mu") == []
    assert params.domains() == ["demo"]
    # on 2025-01-01 pilot (until 2023) and retired (null since 2023) are not in force
    resolved = params.domain("demo", region="330502", on=date(2025, 1, 1))
    assert {r.key: r.value for r in resolved} == {
        "demo.mujun.threshold": 1000,
        "demo.mujun.tiers": {"A": 80, "B": 60},
        "demo.mujun.weight": 32,
    }


def test_unknown_key_lookup(params: Parameters) -> None:
    with pytest.raises(ParameterError) as info:
        params.get("demo.mujun", on=date(2025, 1, 1))
    assert info.value.code == "param.unknown_key"
    assert "demo.mujun.weight" in info.value.en  # hints at the keys of the group


# -- load errors ------------------------------------------------------------------------------
def test_unknown_key_in_regional_file(pdir: Path) -> None:
    write(
        pdir,
        "demo.330500.yaml",
        """
        mujun:
          threshhold:
            values:
              - since: 2020-01-01
                value: 1500
        """,
    )
    err = load_error(pdir)
    assert err.code == "param.unknown_key"
    assert err.location.file == "demo.330500.yaml"
    assert err.location.field == "demo.mujun.threshhold"
    assert "demo.mujun.threshhold" in err.zh and "demo.mujun.threshhold" in err.en


def test_regional_file_without_base(pdir: Path) -> None:
    write(pdir, "other.330500.yaml", CITY)
    assert load_error(pdir).code == "param.unknown_key"


def test_unknown_metadata_field(pdir: Path) -> None:
    write(
        pdir,
        "demo.yaml",
        BASE.replace("    unit: 万元\n", "    units: 万元\n"),
    )
    err = load_error(pdir)
    assert err.code == "param.unknown_field"
    assert "units" in err.zh and "units" in err.en
    assert err.location.field == "demo.mujun.threshold"


def test_unknown_field_in_a_value_entry(pdir: Path) -> None:
    write(
        pdir,
        "demo.yaml",
        BASE.replace("        value: 2000\n", "        value: 2000\n        note: x\n"),
    )
    err = load_error(pdir)
    assert err.code == "param.invalid"
    assert err.location.field == "demo.mujun.threshold"


OVERLAP_SAME_SINCE = """
x:
  values:
    - since: 2020-01-01
      value: 1
    - since: 2020-01-01
      value: 2
"""

OVERLAP_UNTIL = """
x:
  values:
    - since: 2020-01-01
      until: 2021-06-01
      value: 1
    - since: 2021-01-01
      value: 2
"""


@pytest.mark.parametrize("text", [OVERLAP_SAME_SINCE, OVERLAP_UNTIL], ids=["same", "until"])
def test_overlapping_periods(tmp_path: Path, text: str) -> None:
    write(tmp_path, "demo.yaml", text)
    err = load_error(tmp_path)
    assert err.code == "param.overlap"
    assert err.location == parameters.Location(file="demo.yaml", field="demo.x")


def test_overlap_in_regional_file(pdir: Path) -> None:
    write(
        pdir, "demo.330502.yaml", "mujun:\n  threshold:" + textwrap.indent(OVERLAP_UNTIL, "  ")[5:]
    )
    err = load_error(pdir)
    assert err.code == "param.overlap"
    assert err.location.file == "demo.330502.yaml"


def test_until_equal_to_next_since_is_not_an_overlap(tmp_path: Path) -> None:
    write(
        tmp_path,
        "demo.yaml",
        """
        x:
          values:
            - since: 2020-01-01
              until: 2021-01-01
              value: 1
            - since: 2021-01-01
              value: 2
        """,
    )
    params = load_dirs([tmp_path])
    assert params.get("demo.x", on=date(2020, 12, 31)) == 1
    assert params.get("demo.x", on=date(2021, 1, 1)) == 2


def test_until_before_since(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", "x:\n  values:\n    - {since: 2021-01-01, until: 2020-01-01}\n")
    assert load_error(tmp_path).code == "param.invalid"


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("number", '"thirty"'),
        ("number", "true"),
        ("integer", "1.5"),
        ("boolean", "1"),
        ("string", "5"),
        ("mapping", "[1, 2]"),
        ("list", "{a: 1}"),
    ],
)
def test_type_mismatch(tmp_path: Path, type_: str, value: str) -> None:
    write(
        tmp_path,
        "demo.yaml",
        f"x:\n  type: {type_}\n  values:\n    - since: 2020-01-01\n      value: {value}\n",
    )
    err = load_error(tmp_path)
    assert err.code == "param.type"
    assert type_ in err.zh and type_ in err.en


def test_type_mismatch_in_regional_file(pdir: Path) -> None:
    write(pdir, "demo.330502.yaml", COUNTY.replace("value: 1000", "value: 一千"))
    err = load_error(pdir)
    assert err.code == "param.type"
    assert err.location.file == "demo.330502.yaml"


def test_regional_unit_must_match_base(pdir: Path) -> None:
    write(
        pdir, "demo.330502.yaml", COUNTY.replace("  threshold:\n", "  threshold:\n    unit: 元\n")
    )
    err = load_error(pdir)
    assert err.code == "param.unit"
    assert err.location.file == "demo.330502.yaml"
    # repeating the base unit is fine
    write(
        pdir, "demo.330502.yaml", COUNTY.replace("  threshold:\n", "  threshold:\n    unit: 万元\n")
    )
    assert load_dirs([pdir]).get("demo.mujun.threshold", "330502", date(2025, 1, 1)) == 1000


@pytest.mark.parametrize(
    "name", ["Demo.yaml", "demo.hz.yaml", "demo.3305.yaml", "demo-x.yaml", "demo.330502.extra.yaml"]
)
def test_bad_file_name(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, BASE)
    err = load_error(tmp_path)
    assert err.code == "param.file_name"
    assert name in err.zh and name in err.en


def test_invalid_yaml(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", "x:\n  values: [\n    - since: 2020-01-01\n")
    err = load_error(tmp_path)
    assert err.code == "param.yaml"
    assert err.location.file == "demo.yaml"


def test_bad_key_name(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", "Bad-Key:\n  values:\n    - {since: 2020-01-01, value: 1}\n")
    assert load_error(tmp_path).code == "param.key_name"


def test_duplicate_base_key_across_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a, "demo.yaml", BASE)
    write(b, "demo.yml", BASE)
    with pytest.raises(ParameterError) as info:
        load_dirs([a, b])
    assert info.value.code == "param.duplicate"


# -- versions ---------------------------------------------------------------------------------
def test_version_changes_when_a_file_changes(pdir: Path) -> None:
    v1 = load_dirs([pdir]).version()
    assert v1 == load_dirs([pdir]).version()  # stable for the same content
    assert len(v1) == 12
    first = load_dirs([pdir])
    assert load_dirs([pdir]) is first  # the same files: parsed once
    write(pdir, "demo.330502.yaml", COUNTY.replace("value: 1000", "value: 1100"))
    changed = load_dirs([pdir])
    v2 = changed.version()
    assert v2 != v1 and changed is not first
    assert changed.get("demo.mujun.threshold", region="330502", on=date(2025, 1, 1)) == 1100
    write(pdir, "demo.330502.yaml", COUNTY)
    assert load_dirs([pdir]).version() == v1
    (pdir / "demo.330502.yaml").unlink()
    assert load_dirs([pdir]).version() != v1


# -- the project's own parameter files ---------------------------------------------------------
def test_project_parameters_load() -> None:
    loaded = parameters.load(reload=True)
    assert isinstance(loaded, Parameters)
    assert parameters.load() is loaded  # cached
    # a reload re-reads the files; the same bytes give the parameters already parsed and checked
    assert parameters.load(reload=True) is loaded
    for domain in loaded.domains():
        # every parameter of every domain resolves (or is simply not in force) for a county
        loaded.domain(domain, region="330502", on=date(2025, 1, 1))


def test_extra_parameter_dirs_from_environment(pdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IB_PARAMETERS_DIR", str(pdir))
    loaded = parameters.load(reload=True)
    assert loaded.get("demo.mujun.threshold", region="330503", on=date(2025, 1, 1)) == 1500
