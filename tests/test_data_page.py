"""The Data page under Streamlit's AppTest: sources, filters, question detail, token view, subsets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import sources
from core.data.subsets import write_subset

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "views" / "1_Data.py")


@pytest.fixture
def sample(shared_scienceqa, tmp_path, monkeypatch) -> Path:
    """The 150 real problems (with their test images) stand in for the embedded sample."""
    folder = write_subset(tmp_path / "sample", sources.load_source(str(shared_scienceqa / "original")))
    monkeypatch.setattr(sources, "SAMPLE_PATH", folder / "questions.jsonl")
    sources.clear_cache()
    return folder


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_home_page_loads():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception


def test_filters_change_the_selection(sample):
    at = run_page()
    assert metric(at, "Selected questions") == "150" and metric(at, "Train split") == "50"
    assert next(m.proto.delta for m in at.metric if m.label == "Train split") == "val 50 · test 50"
    at.multiselect(key="f_subject").set_value(["natural science"]).run()
    assert not at.exception
    natural = int(metric(at, "Selected questions"))
    assert 0 < natural < 150 and metric(at, "Subjects") == "1"
    at.multiselect(key="f_context").set_value(["IMG"]).run()
    at.radio(key="f_images").set_value("drop").run()
    assert metric(at, "Selected questions") == "0" and not at.exception
    assert any("No questions match" in w.value for w in at.warning)


def test_question_detail_conversation_and_loss_tokens(sample, tiny_model_dir, studio_home):
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    at = run_page()
    assert any(s.value.startswith("Question ") for s in at.subheader)
    codes = [c.value for c in at.code]
    assert codes[0].startswith("You are") and codes[1].startswith("Question: ") and codes[2].startswith("The answer is ")
    caption = next(c.value for c in at.caption if "carry the training loss" in c.value)
    total, loss = [int(x) for x in caption.replace("*", "").split() if x.isdigit()][:2]
    assert 0 < loss < total
    at.selectbox(key="fmt").set_value("nanochat").run()
    assert not at.exception and at.code[1].value.startswith("Multiple Choice question:")



def test_the_tutor_format_previews_every_conversation_a_row_becomes(sample, tiny_model_dir, studio_home):
    from core.data.prompts import training_conversations

    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    at = run_page()
    first = sources.load_source(str(sample))[0]
    convs = training_conversations([first], "tutor")
    assert len(convs) > 1  # this real row has open turns: the test below must see them
    at.selectbox(key="fmt").set_value("tutor").run()
    assert not at.exception
    assert any(f"becomes **{len(convs)} conversations**" in c.value for c in at.caption)
    assert at.code[2].value.startswith("The answer is ")  # the multiple-choice conversation first
    at.segmented_control(key=f"conv_pick:{first.pid}:tutor").set_value("Open 1").run()
    assert not at.exception
    shown = [c.value for c in at.code]
    assert shown == [m["content"] for m in convs[1]]  # exactly the open conversation training builds
    assert "Options:" not in shown[1] and not shown[2].startswith("The answer is ")
    assert any("carry the training loss" in c.value for c in at.caption)

def test_save_and_delete_a_subset_from_the_page(sample, studio_home):
    at = run_page()
    at.multiselect(key="f_split").set_value(["train"]).run()
    at.button(key="subset_save").click().run()
    assert [e.value for e in at.error] == ["Give the subset a name first (e.g. grade3-science)."]
    at.text_input(key="subset_name").input("train-10").run()
    at.number_input(key="subset_n").set_value(10).run()
    at.button(key="subset_save").click().run()
    assert not at.exception and any("Saved as **subset:train-10**: kept 10 of the 50 questions" in s.value
                                    for s in at.success)
    assert (studio_home / "subsets" / "train-10" / "questions.jsonl").exists()
    table = next(df.value for df in at.dataframe if "made from" in df.value.columns)
    assert table.iloc[0][["train", "val", "test"]].tolist() == [10, 0, 0]
    assert table.iloc[0]["made from"] == "split train; 10 sampled"
    at.button(key="subset_save").click().run()  # the same name again: a plain message, no folder
    assert [e.value for e in at.error] == ["A subset named 'train-10' already exists: choose another name, "
                                           "or delete that one first."]
    assert at.button(key="delete_button").disabled  # Delete waits for the tick (AppTest refuses to click it)
    at.checkbox(key="delete_sure:train-10").check().run()
    assert not at.button(key="delete_button").disabled
    at.button(key="delete_button").click().run()
    assert not at.exception and not (studio_home / "subsets" / "train-10").exists()


def test_offline_hub_and_bad_paths_show_one_clear_error(sample):
    at = run_page()
    at.selectbox(key="source").set_value("hub").run()
    assert not at.exception and "HF_HUB_OFFLINE is set" in at.error[0].value
    at.selectbox(key="source").set_value("local").run()
    at.text_input(key="path").input("/no/such/folder").run()
    assert not at.exception and "does not exist" in at.error[0].value


def test_rows_without_grade_or_subject_do_not_break_the_page(tmp_path):
    import json

    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"question": f"Q{i}?", "choices": ["a", "b"], "answer": 0}) + "\n"
                            for i in range(5)))
    at = run_page()
    at.selectbox(key="source").set_value("local").run()
    at.text_input(key="path").input(str(rows)).run()
    assert not at.exception and metric(at, "Selected questions") == "5"


def test_choosing_problems_json_uses_the_splits_and_captions_beside_it(shared_scienceqa):
    at = run_page()
    at.selectbox(key="source").set_value("local").run()
    at.text_input(key="path").input(str(shared_scienceqa / "original" / "problems.json")).run()
    assert not at.exception
    assert metric(at, "Selected questions") == "150" and metric(at, "Train split") == "50"
