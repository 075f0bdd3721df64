"""Records, prompt formats, atomic files and the chat template: the contracts everything else uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.data.prompts import assistant_message, to_messages, user_message
from core.data.records import Question, content_hash
from core.errors import StudioError
from core.files import atomic_dir, read_json, write_json_atomic


def q(**kw) -> Question:
    base = dict(pid="1", question="Which is a solid?", choices=["milk", "rock", "steam"], answer=1,
                hint="", grade="grade4", subject="natural science",
                lecture="Solids keep their shape.", solution="A rock is a solid.")
    return Question(**{**base, **kw})


def test_context_groups_and_grade_band():
    assert q().context_groups == ["NO"]
    assert q(hint="x").context_groups == ["TXT"]
    assert q(hint="x", has_image=True).context_groups == ["TXT", "IMG"]
    assert q().grade_band == "G1-6" and q(grade="grade7").grade_band == "G7-12" and q(grade="").grade_band == ""
    assert q().leaderboard_groups == ["NAT", "NO", "G1-6"]


@pytest.mark.parametrize("bad", [dict(answer=3), dict(answer=-1), dict(choices=["only"]), dict(answer="1x")])
def test_invalid_questions_are_refused(bad):
    with pytest.raises(ValueError):
        q(**bad)


def test_from_dict_tolerates_missing_metadata_and_string_answers():
    r = Question.from_dict({"pid": 7, "question": "Q?", "choices": ["a", "b"], "answer": "1", "grade": None})
    assert r.pid == "7" and r.answer == 1 and r.grade == "" and r.subject == ""
    with pytest.raises(ValueError, match="missing"):
        Question.from_dict({"question": "Q?"})


def test_paper_format_golden():
    x = q(hint="It is cold.")
    assert user_message(x, "paper") == (
        "Question: Which is a solid?\nContext: It is cold.\nOptions: (A) milk (B) rock (C) steam")
    assert assistant_message(x, "paper") == "The answer is B."
    assert assistant_message(x, "paper_ale") == (
        "The answer is B. BECAUSE: Solids keep their shape. A rock is a solid.")
    assert user_message(q(), "paper").split("\n")[1] == "Context: N/A"


def test_caption_joins_context_for_image_questions():
    x = q(hint="Look.", has_image=True, caption="a grey stone")
    assert "Context: Look.\nImage: a grey stone\n" in user_message(x, "paper")
    assert "a grey stone" not in user_message(x, "paper", use_caption=False)


def test_nanochat_format_golden():
    assert user_message(q(), "nanochat") == (
        "Multiple Choice question: Which is a solid?\n- milk=A\n- rock=B\n- steam=C\n\n"
        "Respond only with the letter of the correct answer.")
    assert assistant_message(q(), "nanochat") == "B"


def test_messages_shape():
    m = to_messages(q(), "paper", system_prompt="Be kind.")
    assert [x["role"] for x in m] == ["system", "user", "assistant"]
    assert [x["role"] for x in to_messages(q(), system_prompt=None, with_answer=False)] == ["user"]
    with pytest.raises(ValueError, match="unknown prompt format"):
        to_messages(q(), "bogus")


def test_content_hash_is_order_insensitive_and_content_sensitive():
    a, b = q(pid="1"), q(pid="2")
    assert content_hash([a, b]) == content_hash([b, a])
    assert content_hash([a, b]) != content_hash([a, q(pid="2", answer=0)])


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "done").write_text("x")
    assert (target / "done").exists() and len(list(tmp_path.iterdir())) == 1


def test_read_json_names_corrupt_files(tmp_path):
    p = tmp_path / "x.json"
    write_json_atomic(p, {"a": 1})
    assert read_json(p) == {"a": 1}
    p.write_text('{"a": ')
    with pytest.raises(StudioError, match="corrupt"):
        read_json(p)


def test_chat_template_matches_nanochat_rendering(tiny_model_dir):
    """ids and loss mask equal nanochat's render_conversation, reimplemented here from its source."""
    from core.models.loading import load_tokenizer

    tok = load_tokenizer(tiny_model_dir)
    conv = [{"role": "system", "content": "Sys."}, {"role": "user", "content": "Hi there"},
            {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"}]
    sid = tok.convert_tokens_to_ids
    enc = lambda s: tok.encode(s, add_special_tokens=False)  # noqa: E731
    ids, mask = [sid("<|bos|>")], [0]
    turns = [{"role": "user", "content": "Sys.\n\nHi there"}] + conv[2:]
    for t in turns:
        if t["role"] == "user":
            part = [sid("<|user_start|>")] + enc(t["content"]) + [sid("<|user_end|>")]
            ids += part
            mask += [0] * len(part)
        else:
            ids += [sid("<|assistant_start|>")] + enc(t["content"]) + [sid("<|assistant_end|>")]
            mask += [0] + [1] * (len(enc(t["content"])) + 1)
    out = tok.apply_chat_template(conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assert out["input_ids"] == ids
    assert out["assistant_masks"] == mask


def test_core_never_imports_ui_frameworks():
    code = ("import sys, core, core.data.records, core.data.prompts, core.models.tiny, core.models.loading, core.__main__;"
            "import core.__main__ as m; m.build_parser();"
            "bad = [k for k in sys.modules if k.split('.')[0] in ('streamlit', 'gradio')];"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_atomic_writes_make_ordinary_permissions(tmp_path):
    """Regression: mkstemp/mkdtemp made 0600 files and 0700 folders (the sample asset was unreadable to others)."""
    write_json_atomic(tmp_path / "f.json", {})
    assert (tmp_path / "f.json").stat().st_mode & 0o777 == 0o644
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "x").write_text("x")
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
