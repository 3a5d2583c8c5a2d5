"""CLI tables at 80 columns (issue 14, point 18): a USCC or code is never cut, other columns fold,
and a table too wide for the terminal prints each row as a block of lines."""

from __future__ import annotations

from rich.console import Console

from industry_brain.cli_support import Table
from tests.cli_inproc import invoke

USCC = "91330502982344741G"
PROJECT = "HZXM-2026-00001"
NAME = "湖州卓远自动化设备制造有限公司年产二十万台套智能装备项目"


def _render(table: Table, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_codes_stay_whole_and_names_fold_at_80_columns() -> None:
    t = Table(title="企业")
    for col in ("uscc", "name", "county", "scope", "rank"):
        t.add_column(col)
    t.add_row(USCC, NAME, "330502", "above", "886/886")
    text = _render(t)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert USCC in text and "886/886" in text and "above" in text  # one piece each, on one line
    assert "…" not in text
    # the name folds over several lines, every character kept, in order
    rows = [line for line in text.splitlines() if line.count("│") > 2]
    folded = "".join(line.split("│")[2].strip() for line in rows)
    assert folded == NAME


def test_a_table_wider_than_the_terminal_prints_rows_as_blocks() -> None:
    t = Table(title="项目")
    cols = ("id", "code", "uscc", "other_uscc", "name", "county", "stage", "agent")
    for col in cols:
        t.add_column(col)
    t.add_row("1", PROJECT, USCC, "913305239880298061", NAME, "吴兴区", "开工", "agent_330502_02")
    t.add_row("2", "HZXM-2026-00002", "91330521992205016D", "-", "林城项目", "长兴县", "签约", "x")
    text = _render(t)
    assert max(len(line) for line in text.splitlines()) <= 80
    for value in (PROJECT, USCC, "913305239880298061", "agent_330502_02", "HZXM-2026-00002"):
        assert value in text
    lines = [line for line in text.splitlines() if "│" in line]
    assert [line.split("│")[1].strip() for line in lines[: len(cols)]] == list(cols)
    # at 160 columns the same table is an ordinary one-row-per-line table
    wide = _render(t, 160)
    assert any(USCC in line and PROJECT in line for line in wide.splitlines())


def test_mujun_list_points_to_lists_and_results() -> None:
    result = invoke(["mujun", "list"], {"COLUMNS": "80"})
    assert result.exit_code == 2
    assert "mujun lists" in result.output and "mujun results" in result.output
