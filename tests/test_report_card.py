"""The report card on a fixture whose answers are known: every expected number is worked out by hand in
the comments (not by the code under test), and the shuffled-options method keeps the right answer right."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import make_questions
from core.data.records import LETTERS
from core.errors import StudioError
from core.evaluation.method_shuffled import permutation, shuffle_question
from core.evaluation.methods import get_method, names
from core.evaluation.report_card import report_card, to_csv, to_markdown
from core.evaluation.reports import summarize
from core.evaluation.scoring import EvalResult, Prediction, image_unseen

# pid: subject, band, topic, skill, choices, gold, base answer, fine-tuned answer, image the model cannot see
FIXTURE = {
    "q0": ("NAT", "G1-6", "physics", "magnets", 2, "A", "A", "A", False),
    "q1": ("NAT", "G1-6", "physics", "magnets", 2, "B", "A", "B", False),  # fixed
    "q2": ("NAT", "G7-12", "physics", "forces", 4, "A", "A", "C", False),  # broke
    "q3": ("NAT", "G7-12", "biology", "cells", 3, "C", "A", "C", False),  # fixed
    "q4": ("SOC", "G1-6", "geography", "maps", 4, "A", "A", "A", False),
    "q5": ("SOC", "G1-6", "geography", "maps", 2, "B", "A", "A", False),
    "q6": ("LAN", "G7-12", "grammar", "verbs", 2, "A", "B", "A", False),  # fixed
    "q7": ("NAT", "G1-6", "physics", "magnets", 2, "B", "A", "B", True),  # fixed, image not seen
}
SUBJECT = {"NAT": "natural science", "SOC": "social science", "LAN": "language science"}


def results(which: int, correct_only: set[str] | None = None) -> EvalResult:
    """which=6: the base answers, 7: the fine-tuned ones."""
    preds = []
    for pid, row in FIXTURE.items():
        code, band, topic, skill, k, gold, *answers, unseen = row
        pred = LETTERS.index(answers[which - 6])
        preds.append(Prediction(pid=pid, gold=LETTERS.index(gold), pred=pred, correct=pred == LETTERS.index(gold),
                                n_choices=k, groups=[code, "NO", band], topic=topic, subject=SUBJECT[code],
                                skill=skill, image_unseen=unseen))
    return EvalResult(method="categorical", fmt="paper", model=f"m{which}", predictions=preds)


def shuffled(right: set[str]) -> EvalResult:
    preds = [Prediction(pid=pid, gold=0, pred=0 if pid in right else 1, correct=pid in right, n_choices=2,
                        groups=[]) for pid in FIXTURE]
    return EvalResult(method="shuffled", fmt="paper", model="m", predictions=preds)


def test_the_overall_line_and_the_image_questions_match_the_hand_count():
    card = report_card(results(6), results(7))
    o = card["overall"]
    assert o["n"] == 8 and card["n_seen"] == 7
    assert o["base"] == 3 / 8  # q0 q2 q4
    assert o["tuned"] == 6 / 8  # q0 q1 q3 q4 q6 q7
    assert o["chance"] == pytest.approx((5 * 1 / 2 + 2 * 1 / 4 + 1 / 3) / 8)
    assert (o["letter"], o["always_letter"]) == ("A", 4 / 8)  # A right for q0 q2 q4 q6
    assert (o["fixed"], o["broke"]) == (4, 1)  # fixed q1 q3 q6 q7, broke q2
    u = card["image_unseen"]
    assert (u["n"], u["base"], u["tuned"], u["chance"], u["letter"], u["fixed"]) == (1, 0.0, 1.0, 0.5, "B", 1)


def test_subject_grade_band_and_skill_rows_leave_out_the_unseen_image_question():
    card = report_card(results(6), results(7))
    by = {dim: {r["group"]: r for r in rows} for dim, rows in card["dimensions"].items()}
    nat = by["subject"]["natural science"]  # q0 q1 q2 q3 (q7 left out)
    assert (nat["n"], nat["base"], nat["tuned"], nat["fixed"], nat["broke"]) == (4, 2 / 4, 3 / 4, 2, 1)
    assert nat["chance"] == pytest.approx((1 / 2 + 1 / 2 + 1 / 4 + 1 / 3) / 4)
    assert (nat["letter"], nat["always_letter"]) == ("A", 2 / 4)
    soc = by["subject"]["social science"]  # q4 q5: golds A and B tie, A comes first
    assert (soc["n"], soc["base"], soc["tuned"], soc["chance"], soc["letter"], soc["always_letter"]) == \
        (2, 0.5, 0.5, 0.375, "A", 0.5)
    young = by["grade band"]["G1-6"]  # q0 q1 q4 q5
    assert (young["n"], young["base"], young["tuned"], young["chance"], young["fixed"]) == (4, 0.5, 0.75, 0.4375, 1)
    old = by["grade band"]["G7-12"]  # q2 q3 q6
    assert (old["base"], old["tuned"], old["always_letter"], old["fixed"], old["broke"]) == (1 / 3, 2 / 3, 2 / 3, 2, 1)
    assert {s: (r["fixed"], r["broke"]) for s, r in by["skill"].items()} == {
        "magnets": (1, 0), "forces": (0, 1), "cells": (1, 0), "maps": (0, 0), "verbs": (1, 0)}
    assert by["topic"]["physics"]["n"] == 3 and list(by["subject"]) == ["natural science", "social science",
                                                                        "language science"]  # most questions first


def test_letter_shares_sit_beside_the_right_answers_and_shuffled_accuracy_is_kept():
    card = report_card(results(6), results(7), {"base": shuffled({"q0", "q4"}),
                                                "tuned": shuffled({"q0", "q1", "q3", "q4", "q6"})})
    assert card["letters"]["right answers"] == {"A": 4 / 8, "B": 3 / 8, "C": 1 / 8, "D": 0.0}
    assert card["letters"]["base"] == {"A": 7 / 8, "B": 1 / 8, "C": 0.0, "D": 0.0}
    assert card["letters"]["tuned"] == {"A": 4 / 8, "B": 2 / 8, "C": 2 / 8, "D": 0.0}
    assert card["shuffled"] == {"base": 2 / 8, "tuned": 5 / 8}
    other = shuffled({"q0"})
    other.predictions = other.predictions[:3]  # not the same questions: not counted
    assert report_card(results(6), results(7), {"base": other})["shuffled"] == {"base": None, "tuned": None}


def test_exports_carry_the_rows_the_shuffled_line_and_the_letters():
    card = report_card(results(6), results(7), {"base": shuffled({"q0", "q4"}), "tuned": shuffled({"q0"})})
    rows = list(csv.DictReader(io.StringIO(to_csv(card))))
    first = rows[0]
    assert (first["dimension"], first["base %"], first["fine-tuned %"], first["always-letter %"]) == \
        ("overall", "37.5", "75.0", "50.0")
    assert any(r["dimension"] == "image not seen" and r["questions"] == "1" for r in rows)
    assert any(r["dimension"] == "skill" and r["group"] == "forces" and r["broke"] == "1" for r in rows)
    shuffled_row = next(r for r in rows if r["dimension"] == "options shuffled")
    assert (shuffled_row["base %"], shuffled_row["fine-tuned %"]) == ("25.0", "12.5")
    assert next(r for r in rows if r["group"] == "A" and r["dimension"] == "answer letter share")["base %"] == "87.5"
    md = to_markdown(card)
    assert md.startswith("## Report card") and "### By skill" in md and "| forces | 1 | 100.0 | 0.0 |" in md
    assert "drops by more than 5 points" in md  # 75.0% -> 12.5% with the options shuffled


def test_the_report_card_refuses_evaluations_of_different_questions():
    tuned = results(7)
    tuned.predictions = tuned.predictions[:-1]
    with pytest.raises(StudioError, match="same questions"):
        report_card(results(6), tuned)


def test_an_evaluation_summary_carries_the_always_most_common_letter_beside_chance():
    s = summarize(results(6))
    assert s["chance"] == pytest.approx((5 * 1 / 2 + 2 * 1 / 4 + 1 / 3) / 8)
    assert (s["always_letter"], s["always_letter_accuracy"]) == ("A", 0.5)


def test_shuffling_moves_every_question_and_keeps_the_right_answer_right():
    for q in make_questions(30):
        s = shuffle_question(q, seed=0)
        assert s.choices != q.choices and sorted(s.choices) == sorted(q.choices)
        assert s.choices[s.answer] == q.choices[q.answer]
        assert shuffle_question(q, seed=0) == s  # fixed: the same order every time
    assert permutation(2, "x") == [1, 0]


def test_image_questions_without_text_or_a_caption_naming_a_choice_are_marked():
    q = make_questions(1)[0]  # has_image, caption "a scale", hint "Look at the numbers.", choices "N kg"
    assert image_unseen(q)  # the hint points at the picture; the caption names no choice
    q.hint = "The weights are written on the boxes."
    assert not image_unseen(q)  # the text carries what is needed
    q.hint = ""
    assert image_unseen(q)
    q.choices = ["a kitchen scale", "a ruler"] + q.choices[2:]
    assert not image_unseen(q)  # the caption ("a scale") names a choice: a useful caption
    q.has_image, q.caption = False, ""
    assert not image_unseen(q)


def test_methods_are_registered_objects_and_the_shuffled_one_is_found_from_its_own_file():
    assert names()[:3] == ["categorical", "generative", "plan"] and "shuffled" in names()
    m = get_method("shuffled")
    assert m.seconds_per_question > 0 and m.label and m.help and m.valid
    assert not get_method("plan").valid
    with pytest.raises(ValueError, match="choose one of"):
        get_method("nope")


def test_the_shuffled_method_scores_each_question_in_its_shuffled_order(tiny_model_dir):
    from core.evaluation.scoring import evaluate
    from core.models.loading import load_model

    loaded = load_model(tiny_model_dir, device="cpu")
    qs = make_questions(9)
    moved = evaluate(loaded, qs, "paper", "shuffled")
    assert moved.method == "shuffled" and moved.valid
    for q, p in zip(qs, moved.predictions):
        s = shuffle_question(q)
        assert p.gold == s.answer and p.correct == (p.pred == s.answer)
