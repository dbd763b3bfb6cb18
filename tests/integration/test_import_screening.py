"""Screening imports on a real store: every admission row accounted for, and a dry run that tells the truth."""

from __future__ import annotations

import tempfile
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow.domain.errors import InvalidInput
from aidflow.office.screening import ScreeningReport, screen
from tests.builders import national_id, register_staff
from tests.properties import examples

SAMPLES = Path(__file__).resolve().parents[2] / "aidflow" / "samples"
ASCII_ID = "52030220070220011X"
FULL_WIDTH_ID = "５２０３０２２００７０２２００１１ｘ"


def run(flow: AidFlow, admissions: Path, registry: Path, **options: object) -> ScreeningReport:
    return screen(flow, admissions, registry, year=2026, actor="screening-office", **options)  # type: ignore[arg-type]


def accounted(report: ScreeningReport) -> int:
    rejected = [p for p in report.rejected if p.file == report.admissions_file]
    assert report.admissions_read + len(rejected) == report.admissions_rows
    return (
        len(report.opened)
        + len(report.already_open)
        + len(report.duplicates)
        + report.not_in_registry
        + len(rejected)
    )


def counts(report: ScreeningReport) -> tuple[int, ...]:
    return (
        report.admissions_rows,
        report.admissions_read,
        report.matched,
        len(report.opened),
        len(report.already_open),
        len(report.duplicates),
        report.not_in_registry,
        len(report.rejected),
    )


def test_the_utf8_gbk_and_xlsx_samples_screen_alike(tmp_path: Path) -> None:
    """The same students in three files open the same cases, line for line."""
    outcomes = []
    for sample in ("admissions.csv", "admissions_gbk.csv", "admissions.xlsx"):
        flow = AidFlow.open(f"sqlite:///{tmp_path / sample}.db")
        register_staff(flow)
        try:
            report = run(flow, SAMPLES / sample, SAMPLES / "registry.csv")
            cases = [
                flow.case(UUID(r.case_id)).model_dump(exclude={"case_id", "as_of"})
                for r in report.opened
                if r.case_id
            ]
        finally:
            flow.close()
        assert accounted(report) == report.admissions_rows == 22
        outcomes.append(
            (
                [(r.line, r.category) for r in report.opened],
                [(p.line, p.reason) for p in report.rejected],
                counts(report),
                cases,
            )
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert len(outcomes[0][0]) == 10 and outcomes[0][3][0]["name"] == "W**"  # masked


def test_the_chinese_registry_matches_the_same_households(flow: AidFlow) -> None:
    english = run(flow, SAMPLES / "admissions.csv", SAMPLES / "registry.csv", dry_run=True)
    chinese = run(flow, SAMPLES / "admissions_gbk.csv", SAMPLES / "registry_gbk.csv", dry_run=True)
    assert chinese.registry_format == "CSV, GBK/GB18030"
    assert [(r.line, r.category) for r in chinese.opened] == [
        (r.line, r.category) for r in english.opened
    ]
    assert chinese.registry_eligible == english.registry_eligible == 20


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def lists(tmp_path: Path) -> tuple[Path, Path]:
    """An admission list with every kind of row, and its registry."""
    ids = [national_id(n) for n in range(1, 7)]
    registry = write(
        tmp_path / "registry.csv",
        "身份证号,救助类别,乡镇（街道）",
        [f"{ASCII_ID},低保,高坪", *(f"{i},特困,团泽" for i in ids[:4])],
    )
    admissions = write(
        tmp_path / "admissions.csv",
        "身份证号码,姓名,录取院校,银行卡号",
        [
            f"{ASCII_ID},王芳,贵州大学,6222020217959811144",  # 2 opened
            f"{FULL_WIDTH_ID},王芳,贵州大学,",  # 3 the same person again: duplicate
            f"{ids[0]},李伟,遵义医科大学,",  # 4 opened
            f"{ids[0]},李伟,遵义医科大学,",  # 5 duplicate
            f"{ids[1]},张敏,贵州师范大学,",  # 6 already open (opened beforehand)
            f"{ids[4]},刘静,四川大学,",  # 7 not in the registry
            f"{ids[4]},刘静,四川大学,",  # 8 duplicate of a row not in the registry
            f"{ids[2]},,贵州大学,",  # 9 rejected: no name
            f"{ids[3]},陈\u200b磊,贵州大学,",  # 10 rejected: an invisible character
            "5.20302E+17,杨艳,贵州大学,",  # 11 rejected: Excel's number
            f"{ids[5]},黄涛,贵州大学,1234",  # 12 rejected: a short account
        ],
    )
    return admissions, registry


def test_every_row_is_one_of_opened_already_duplicate_unmatched_rejected(
    flow: AidFlow, lists: tuple[Path, Path]
) -> None:
    admissions, registry = lists
    from aidflow import commands as cmd

    earlier = flow.apply(
        cmd.Apply(
            student_id=national_id(2),
            name="张敏",
            university="贵州师范大学",
            family_category="tekun",
            town="团泽",
            year=2026,
            actor="clerk",
        )
    )
    head = flow.recorder.max_notification_id()
    dry = run(flow, admissions, registry, dry_run=True)
    assert flow.recorder.max_notification_id() == head, "a dry run writes nothing"
    real = run(flow, admissions, registry)
    for report in (dry, real):
        assert report.admissions_rows == accounted(report) == 11
        assert [r.line for r in report.opened] == [2, 4]
        assert [(r.line, r.case_id) for r in report.already_open] == [(6, str(earlier))]
        assert [(d.line, d.first_line) for d in report.duplicates] == [(3, 2), (5, 4), (8, 7)]
        assert report.not_in_registry == 1
        assert [p.line for p in report.rejected] == [9, 10, 11, 12]
    assert counts(dry) == counts(real)
    opened = flow.case(UUID(real.opened[0].case_id or ""))
    assert opened.student_id_masked == "5203**********011X" and opened.town == "高坪"
    again = run(flow, admissions, registry, dry_run=True)
    assert [r.line for r in again.already_open] == [2, 4, 6] and again.opened == []


def test_a_malformed_file_writes_nothing(flow: AidFlow, tmp_path: Path) -> None:
    before = flow.recorder.max_notification_id()
    rows = [f"{national_id(n)},Student {n},Guizhou University," for n in range(1, 26)]
    rows[4] = '"' + rows[4]  # line 6: an unbalanced quote
    admissions = write(tmp_path / "admissions.csv", "national_id,name,university,account", rows)
    registry = write(
        tmp_path / "registry.csv",
        "national_id,category,town",
        [f"{national_id(n)},dibao,Gaoping" for n in range(1, 26)],
    )
    with pytest.raises(InvalidInput, match=r"^admissions.csv line 6, column 1: "):
        run(flow, admissions, registry)
    assert flow.recorder.max_notification_id() == before


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_student_born_after_the_programme_year_is_one_rejected_row(
    flow: AidFlow, tmp_path: Path, dry_run: bool
) -> None:
    """An ID born in 2030 on a 2026 list refused the whole screening (the case, not the row,
    said so), after a dry run had promised to open it; now the row is rejected, by line, and
    the others open (issue 21 §8)."""
    born_late = national_id(2, birth="20300101")
    rows = [f"{national_id(1)},Wang Fang,Guizhou University", f"{born_late},Li Wei,Zunyi"]
    admissions = write(tmp_path / "admissions.csv", "national_id,name,university", rows)
    registry = write(
        tmp_path / "registry.csv",
        "national_id,category,town",
        [f"{national_id(1)},dibao,Gaoping", f"{born_late},dibao,Gaoping"],
    )
    report = run(flow, admissions, registry, dry_run=dry_run)
    assert [(p.file, p.line, p.reason) for p in report.rejected] == [
        (
            "admissions.csv",
            3,
            f"national ID {born_late[:4]}{'*' * 10}{born_late[-4:]} gives a birth year of 2030, "
            "after programme year 2026; re-type it from the card",
        )
    ]
    assert len(report.opened) == 1 and accounted(report) == 2


def test_the_registry_lists_a_person_once(flow: AidFlow, tmp_path: Path) -> None:
    registry = write(
        tmp_path / "registry.csv",
        "national_id,category,town",
        [f"{ASCII_ID},dibao,Gaoping", f"{FULL_WIDTH_ID},other,Gaoping", f"{national_id(1)},,X"],
    )
    admissions = write(
        tmp_path / "admissions.csv", "national_id,name,university", [f"{ASCII_ID},W,U"]
    )
    report = run(flow, admissions, registry, dry_run=True)
    assert [(p.file, p.line) for p in report.rejected] == [("registry.csv", 3), ("registry.csv", 4)]
    assert "same national ID as line 2" in report.rejected[0].reason
    assert report.registry_rows == 3 and report.registry_read == 1 and report.matched == 1


def test_a_year_out_of_range_is_refused_before_reading(flow: AidFlow) -> None:
    with pytest.raises(InvalidInput, match="programme year 1999"):
        screen(flow, SAMPLES / "admissions.csv", SAMPLES / "registry.csv", year=1999, actor="x")


ROW = st.sampled_from(
    [
        f"{ASCII_ID},王芳,贵州大学,",
        f"{FULL_WIDTH_ID},王芳,贵州大学,",
        f"{national_id(1)},李伟,遵义医科大学,6222020217959811144",
        f"{national_id(2)},张敏,贵州师范大学,",
        f"{national_id(3)},Li,U,",
        "5.20302E+17,杨艳,贵州大学,",
        f'"{national_id(1)}","刘 ""静""",四川大学,',
        f"{national_id(1)},x\ty,U,",
        ",,,",
        "",
        f"{national_id(4)},Only three,U",
    ]
)


@settings(max_examples=examples(40))
@given(rows=st.lists(ROW, max_size=15), encoding=st.sampled_from(["utf-8-sig", "gbk", "utf-16"]))
def test_dry_run_accounts_for_every_row_of_any_mix(
    flow: AidFlow, rows: list[str], encoding: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        admissions = Path(folder) / "admissions.csv"
        admissions.write_bytes(
            "\r\n".join(["national_id,name,university,account", *rows]).encode(encoding)
        )
        report = run(flow, admissions, SAMPLES / "registry.csv", dry_run=True)
        extra = Path(folder) / "registry.csv"
        write(extra, "national_id,category,town", [f"{national_id(n)},dibao,T" for n in (1, 2)])
        matched = run(flow, admissions, extra, dry_run=True)
    data_rows = sum(1 for r in rows if r.strip(","))
    assert accounted(report) == report.admissions_rows == data_rows
    assert accounted(matched) == matched.admissions_rows == data_rows
    valid = {r.split(",")[0].strip('"') for r in rows if "\t" not in r}
    assert len(matched.opened) == len(valid & {national_id(1), national_id(2)})


def test_a_full_width_id_matches_its_ascii_registry_entry(flow: AidFlow, tmp_path: Path) -> None:
    admissions = write(
        tmp_path / "a.csv", "身份证号,姓名,录取学校", [f"{FULL_WIDTH_ID},徐兰,贵州大学"]
    )
    report = run(flow, admissions, SAMPLES / "registry.csv")
    (opened,) = report.opened
    assert flow.case(UUID(opened.case_id or "")).student_id_masked == "5203**********011X"
    ascii_row = write(tmp_path / "b.csv", "national_id,name,university", [f"{ASCII_ID},Xu Lan,U"])
    assert [r.case_id for r in run(flow, ascii_row, SAMPLES / "registry.csv").already_open] == [
        opened.case_id
    ]
