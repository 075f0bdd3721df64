"""bench/explain_quality.py: the rows and wrong options it draws, and a whole run on the xs tiny model over
three real rows (its explanations are the product's: core.practice.explain, greedy), checked by
core.evaluation.answer_text.check_explanation."""

from __future__ import annotations

import json

from bench import explain_quality
from conftest import make_questions


def test_rows_are_held_out_first_and_the_student_option_is_a_seeded_wrong_one():
    from core.practice.questions import shown_as_text

    questions = make_questions(30)
    held = sum(q.split in ("val", "test") and shown_as_text(q) for q in questions)
    rows = explain_quality.pick_rows(questions, held + 3, seed=0)
    splits = [q.split for q in rows]
    assert len(rows) == held + 3 and all(shown_as_text(q) for q in rows)
    assert all(s in ("val", "test") for s in splits[:held]) and all(s == "train" for s in splits[held:])
    assert explain_quality.pick_rows(questions, held + 3, seed=0) == rows  # seeded
    assert [q.split for q in explain_quality.pick_rows(questions, 4, seed=0)] != ["train"] * 4
    for q in rows:
        w = explain_quality.wrong_option(q, 0)
        assert w != q.answer and 0 <= w < len(q.choices) and w == explain_quality.wrong_option(q, 0)


def test_a_run_on_real_rows_explains_each_wrong_answer_through_the_practice_path(
        shared_scienceqa, tiny_model_dir, tmp_path, capsys):
    from core.evaluation.answer_text import check_explanation
    from core.models.loading import load_model
    from core.practice import explain
    from core.serving.chat import ChatSettings

    out = tmp_path / "out"
    assert explain_quality.main(["--model", str(tiny_model_dir), "--n", "3", "--max-new-tokens", "6", "--batch", "2",
                                 "--data", str(shared_scienceqa / "original"), "--out", str(out)]) == 0
    found = json.loads(next(out.glob("explain-quality-*.json")).read_text())
    records = found["records"]
    assert found["n"] == 3 and len(records) == 3 and found["settings"]["temperature"] == 0.0
    assert {r["split"] for r in records} <= {"val", "test"}
    for r in records:
        assert r["chosen"] != r["right"]
        check = check_explanation(r["explanation"], r["choices"], r["right"], r["chosen"])
        assert (r["names_right"], r["claims_wrong"], r["good"], r["strict"]) == (
            check.names_right, check.claims_wrong, check.good, check.strict)
    s = found["summary"]
    assert s["good"]["k"] == sum(r["good"] for r in records) and 0 <= s["good"]["ci95"][0] <= s["good"]["ci95"][1] <= 1
    printed = capsys.readouterr().out
    assert "good (names the right option, does not claim the wrong one is right):" in printed
    # The same explanation comes out of the product's path for the first row, one at a time (greedy).
    from core.data.sources import load_source

    q = next(q for q in load_source(str(shared_scienceqa / "original")) if q.pid == records[0]["pid"])
    reply = explain.generate(load_model(tiny_model_dir), explain.explanation_messages(q, records[0]["chosen"]),
                             ChatSettings(temperature=0.0, max_new_tokens=6, top_p=found["settings"]["top_p"],
                                          repetition_penalty=found["settings"]["repetition_penalty"]))
    assert "".join(reply) == records[0]["explanation"]


def test_a_lesson_longer_than_the_model_window_is_shortened_to_fit_not_refused(tiny_model_dir):
    from core.data.records import Question
    from core.models.loading import load_model
    from core.practice import explain
    from core.serving.chat import ChatSettings, fit_messages

    loaded = load_model(tiny_model_dir)
    settings = ChatSettings(temperature=0.0, max_new_tokens=8)
    long = Question(pid="p", question="Which is a solid?", choices=["milk", "a rock"], answer=1,
                    lecture=" ".join(["A solid keeps its shape, and a liquid takes the shape of its container."] * 60),
                    solution="A rock keeps its shape.")
    messages = explain.explanation_messages(long, 0)
    fitted = explain.fitted(loaded, messages, settings)
    assert fitted[1:] == messages[1:] and fitted[0]["content"].startswith(explain.INSTRUCTIONS)
    assert len(fitted[0]["content"]) < len(messages[0]["content"])
    fit_messages(loaded.tokenizer, fitted, loaded.context_length - 8)  # fits: no error
    "".join(explain.generate(loaded, messages, settings))  # explained: before the fit, a StudioError
    short = explain.explanation_messages(Question(pid="s", question="Which is a solid?", choices=["milk", "a rock"],
                                                  answer=1, lecture="Solids keep their shape."), 0)
    assert explain.fitted(loaded, short, settings) == short
