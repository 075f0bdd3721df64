"""The home page: loads offline, says so in one line, and reports where data, models and runs stand."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.home import area
from core.jobs.runs import create_run

APP = Path(__file__).resolve().parent.parent / "Home.py"


def test_home_page_offline_shows_sample_and_offline_notice(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert any("HF_HUB_OFFLINE" in i.value for i in at.info)
    sample = next(m for m in at.metric if m.label == "Embedded sample")
    assert int(sample.value.split()[0].replace(",", "")) >= 1000
    assert next(m for m in at.metric if m.label == "Training runs").value == "0"


def test_home_page_counts_runs():
    create_run(area("runs"), {"model": "tiny", "data": "sample"}, name="first")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "Training runs").value == "1"
    assert any("first" in c.value for c in at.caption)
