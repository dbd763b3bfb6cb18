"""The HTML audit report: charts present, Chinese, and a real browser draws it (not blank)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aidflow.cli import main
from tests.e2e.conftest import Cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _demo(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    Cli(url).runner.invoke(main, ["demo"], env={"AIDFLOW_DB": url, "AIDFLOW_ACTOR": "admin"})
    return url


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    cli = Cli(_demo(tmp))
    out = tmp / "report.html"
    cli("--lang", "zh", "audit", "report", "--format", "html", "-o", str(out))
    return out


def test_the_report_has_every_part(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert text.count("<svg") >= 6  # month, town, need, category, two fund balances (+ findings)
    for heading in (
        "审计报告",
        "台账",
        "分类汇总",
        "按乡镇发放金额",
        "余额变化",
        "案件名册",
        "摘要（据此证明与核验）",
        "v0.1 哈希链之首",
    ):
        assert heading in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no network
    # no national ID in full (a hex digest may hold 18 digits in a row: not one)
    assert not re.search(r"(?<![0-9a-f])\d{17}[\dX](?![0-9a-f])", text)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed")
def test_chromium_draws_the_report(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 40_000  # a blank page compresses to a few kilobytes
    dom = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--dump-dom",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        text=True,
    ).stdout
    assert dom.count("<svg") >= 6 and dom.count("<rect") > 10
    if os.environ.get("AIDFLOW_SCREENSHOT"):
        shutil.copy(shot, os.environ["AIDFLOW_SCREENSHOT"])
