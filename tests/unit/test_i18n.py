"""The message catalogues: every message translated, placeholders kept, compiled files current."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wcwidth import wcswidth

from aidflow.i18n import catalogue, default_language, error_summary, tr, using, value
from aidflow.render import line, table, width
from scripts.i18n import compiled, missing, po_path
from scripts.i18n_sources import messages


def test_every_message_has_a_chinese_translation() -> None:
    assert missing("zh") == []


def test_the_shipped_mo_file_is_compiled_from_the_po_file() -> None:
    assert po_path("zh").with_suffix(".mo").read_bytes() == compiled("zh")


def _fields(text: str) -> list[str]:
    return sorted(f"{n}!{c}" for _t, n, _s, c in string.Formatter().parse(text) if n is not None)


@pytest.mark.parametrize("context, msgid", [(c, m) for c, m, _w in messages() if c is None])
def test_a_translation_keeps_every_placeholder(context: None, msgid: str) -> None:
    translated = catalogue("zh").gettext(msgid)
    assert _fields(translated) == _fields(msgid), (msgid, translated)


def test_values_events_and_error_codes_are_translated() -> None:
    with using("zh"):
        assert value("dibao") == "低保"
        assert value("tuition") == "学费难筹"
        assert tr("balance") == "余额"
        assert error_summary("cap_exceeded") == "超过临时救助上限"
        assert value("Gaoping") == "Gaoping"  # data is never translated
    with using("en"):
        assert value("dibao") == "dibao"
        assert error_summary("cap_exceeded") is None


def test_tables_line_up_by_display_width() -> None:
    with using("zh"):
        text = table([("王芳", "低保", "1.00"), ("Li", "x", "22.00")], ("name", "category", "yuan"))
    rows = text.splitlines()
    starts = {width(r[: r.index(r.split()[-1])]) for r in rows if not r.startswith("-")}
    assert len(starts) == 1, text
    assert width("王芳") == 4


@given(st.text(max_size=40))
def test_a_widths_shortcut_for_plain_ascii_agrees_with_wcwidth(text: str) -> None:
    """English text skips importing wcwidth (75 ms of a cold command): same columns."""
    columns = wcswidth(text)
    assert width(text) == (columns if columns >= 0 else len(text))


def test_format_padding_counts_display_columns() -> None:
    padded = line("{a:<6}|", a="王芳")
    assert width(padded) == 7 and padded.endswith("  |")


def test_the_language_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AIDFLOW_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    assert default_language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert default_language() == "zh"
    monkeypatch.setenv("AIDFLOW_LANG", "en")
    assert default_language() == "en"


def test_no_message_is_written_outside_the_catalogue() -> None:
    """CLI modules print through messages: no quoted English sentence in a click.echo."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "aidflow" / "cli"
    pattern = re.compile(r"click\.echo\(\s*f?\"[A-Za-z]")
    for path in root.glob("*.py"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_every_click_message_translated_is_still_one_click_uses() -> None:
    """A click upgrade that rewords a message must fail here, not fall back to English unseen."""
    import ast
    from pathlib import Path

    import click

    from aidflow.i18n import click_i18n

    used: set[str] = set()
    for name in click_i18n.MODULES:
        tree = ast.parse((Path(click.__file__).parent / f"{name}.py").read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "ngettext"):
                used |= {a.value for a in node.args if isinstance(a, ast.Constant)}
    listed = [*click_i18n.MESSAGES, *(form for pair in click_i18n.PLURALS for form in pair)]
    assert [m for m in listed if m not in used] == []
    # looked up through a variable: the value click assigns it, as the source spells it
    core = (Path(click.__file__).parent / "core.py").read_text("utf-8")
    assert [m for m in click_i18n.BY_VALUE if f'= "{m}"' not in core] == []


def _aidflow_errors() -> set[str]:
    from aidflow.domain import errors

    names: set[str] = set()
    stack: list[type] = [errors.AidflowError]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    return names


def test_every_error_message_is_built_from_a_catalogue_template() -> None:
    """``raise SomeError(f"...")`` would reach a Chinese-reading clerk in English."""
    import ast
    from pathlib import Path

    import aidflow

    root = Path(aidflow.__file__).parent
    named = _aidflow_errors()
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name in named and node.exc.args:
                first = node.exc.args[0]
                if isinstance(first, ast.JoinedStr) or (
                    isinstance(first, ast.Constant) and isinstance(first.value, str)
                ):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


def test_an_error_reads_in_the_clerks_language_and_stays_english_for_machines() -> None:
    from aidflow.domain.errors import CapExceeded, render, said

    error = CapExceeded(
        said(
            "approving {amount} yuan would bring case {id} to {approved} yuan, over the cap of {cap} yuan per programme year",
            amount="4,000.00",
            id="c1",
            approved="6,000.00",
            cap="5,000.00",
        )
    )
    assert str(error).startswith("approving 4,000.00 yuan would bring case c1")
    with using("zh"):
        chinese = render(error.args[0], tr)
    assert (
        chinese
        == "批准 4,000.00 元将使档案 c1 达到 6,000.00 元，超过每个项目年度 5,000.00 元的上限"
    )
