"""The Models page's GGUF export (AppTest): a llama model exports with download buttons; NanoChat and a
visitor without the admin password are refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import finish_job

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "2_Models.py")


@pytest.fixture(scope="module")
def llama_master(tmp_path_factory) -> Path:
    from test_export import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("llama") / "tiny-llama")


@pytest.fixture
def llama(llama_master, tmp_path) -> Path:
    import shutil

    from core.models.obtain import resolve_model

    folder = tmp_path / "tiny-llama"
    shutil.copytree(llama_master, folder)
    resolve_model(str(folder))  # registers the folder in the catalogue
    return folder


def export(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="export_model").select(name).run()
    return finish_job(at.button(key="export").click().run(), "model_job")  # a background job


def test_a_llama_model_exports_with_downloads_and_the_ollama_commands(llama, studio_home):
    at = export(AppTest.from_file(PAGE, default_timeout=120).run(), str(llama))
    assert not at.exception
    assert not at.error
    assert any("tiny-llama-q8_0.gguf" in s.value for s in at.success)
    out = studio_home / "exports" / "tiny-llama-q8_0"
    assert (out / "tiny-llama-q8_0.gguf").exists() and (out / "Modelfile").exists()
    assert len(at.get("download_button")) == 2
    assert any("ollama create" in c.value for c in at.code)


def test_nanochat_is_refused_in_one_line(tiny_model_dir):
    from core.models.obtain import resolve_model

    resolve_model(str(tiny_model_dir))
    at = export(AppTest.from_file(PAGE, default_timeout=120).run(), str(tiny_model_dir))
    assert not at.exception
    assert any("no nanochat architecture" in e.value for e in at.error)
    assert not at.get("download_button")


def test_public_mode_needs_the_admin_password(llama, studio_home, monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    button = at.button(key="export")  # a visitor sees the button disabled, with the reason (issue 24)
    assert button.disabled and "needs the admin password" in button.help
    for key in ("create_tiny", "convert", "import_gguf"):
        assert at.button(key=key).disabled  # (AppTest, like a browser, cannot click a disabled button)
    assert not (studio_home / "exports").exists() or not any((studio_home / "exports").iterdir())
