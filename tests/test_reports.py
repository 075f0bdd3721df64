"""Reports: the interval and test statistics against known values, breakdowns, exports, comparisons."""

from __future__ import annotations

import csv
import io
import json

import pytest

from core.errors import StudioError
from core.evaluation.reports import (
    OFFICIAL_TEST_SIZE,
    compare,
    headline,
    mcnemar,
    model_warnings,
    paired_difference_interval,
    significance,
    summarize,
    to_csv,
    to_json,
    to_markdown,
    wilson_interval,
)
from core.evaluation.scoring import EvalResult, Prediction


def result_of(correct: list[bool], method: str = "categorical", groups=None, n_choices=None) -> EvalResult:
    preds = []
    for i, ok in enumerate(correct):
        k = (n_choices or [2, 4])[i % len(n_choices or [2, 4])]
        preds.append(Prediction(pid=f"q{i}", gold=0, pred=0 if ok else 1, correct=ok, n_choices=k,
                                groups=(groups or [["NAT", "TXT", "G1-6"], ["SOC", "NO", "G7-12"]])[i % 2],
                                topic=["physics", "geography"][i % 2], probs=[0.7, 0.3] + [0.0] * (k - 2)))
    return EvalResult(method=method, fmt="paper", model="m", predictions=preds, data_hash="h")


def test_wilson_interval_matches_known_values():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert wilson_interval(10, 10) == pytest.approx((1 - 0.27753, 1.0), abs=1e-5)  # z^2 / (n + z^2)


def test_mcnemar_is_exact_for_few_discordant_pairs_and_chi_square_otherwise():
    p, test = mcnemar(10, 2)  # 2 * P(X <= 2), X ~ Bin(12, 1/2) = 158 / 4096
    assert test == "exact" and p == pytest.approx(158 / 4096)
    p, test = mcnemar(50, 25)  # (|50 - 25| - 1)^2 / 75 = 7.68 -> p = 0.005584
    assert test == "chi2" and p == pytest.approx(0.0055836, abs=1e-6)
    assert mcnemar(0, 0) == (1.0, "exact")
    assert mcnemar(3, 3)[0] == 1.0


def test_paired_difference_interval_matches_newcombes_square_and_add():
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables, ch. 8 (Cavo et al. 2012):
    # table [[59, 6], [16, 80]] -> estimate -0.0621 (95% CI -0.1186 to -0.0046), here from the other side.
    lo, hi = paired_difference_interval(both=59, only_base=6, only_tuned=16, neither=80)
    assert (lo, hi) == pytest.approx((0.0046, 0.1186), abs=1e-4)


def test_summary_has_interval_chance_columns_topics_and_no_reference_on_a_subset():
    s = summarize(result_of([True, False, True, True]))
    assert s["n"] == 4 and s["correct"] == 3 and s["accuracy"] == 0.75
    assert s["ci"] == pytest.approx(wilson_interval(3, 4))
    assert s["chance"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert s["columns"]["NAT"] == {"n": 2, "correct": 2, "accuracy": 1.0, "ci": list(wilson_interval(2, 2))}
    assert s["columns"]["SOC"]["correct"] == 1 and s["columns"]["LAN"]["n"] == 0
    assert s["topics"]["geography"]["accuracy"] == 0.5
    assert s["reference"] is None


def test_reference_rows_appear_only_for_the_full_official_test_split():
    full = result_of([True] * OFFICIAL_TEST_SIZE)
    rows = {r["name"]: r["accuracy"] for r in summarize(full, "test")["reference"]}
    assert rows["Random chance"] == pytest.approx(0.3983) and rows["Human average"] == pytest.approx(0.884)
    assert summarize(full, "val")["reference"] is None


def test_exports_carry_every_question_and_the_invalid_label():
    r = result_of([True, False, True], method="plan")
    r.valid, r.warning = False, "INVALID METRIC (the plan's method)"
    rows = list(csv.DictReader(io.StringIO(to_csv(r))))
    assert [row["pred"] for row in rows] == ["A", "B", "A"] and rows[0]["p_A"] == "0.7"
    data = json.loads(to_json(r))
    assert data["summary"]["valid"] is False and len(data["result"]["predictions"]) == 3
    md = to_markdown(summarize(r))
    assert "INVALID METRIC" in md and "| NAT | SOC | LAN | TXT | IMG | NO | G1-6 | G7-12 |" in md


def test_compare_pairs_questions_counts_flips_and_tests_them():
    base = result_of([True, False, False, True, False, False])
    tuned = result_of([True, True, True, False, False, True])
    c = compare(base, tuned)
    assert c["gained"] == ["q1", "q2", "q5"] and c["lost"] == ["q3"]
    assert c["table"] == {"both": 1, "base_only": 1, "tuned_only": 3, "neither": 1}
    assert c["difference"] == pytest.approx(2 / 6)
    assert c["mcnemar_p"] == pytest.approx(mcnemar(1, 3)[0]) and c["mcnemar_test"] == "exact"
    lo, hi = c["difference_ci"]
    assert lo < c["difference"] < hi


def test_compare_refuses_different_question_sets():
    with pytest.raises(StudioError, match="not on the same questions"):
        compare(result_of([True, False]), result_of([True, False, True]))


def test_the_headline_says_per_100_questions_how_many_more_and_how_sure():
    base = result_of([i % 10 < 4 for i in range(200)])  # 40% right
    tuned = result_of([i % 10 < 4 or i % 10 in (5, 6) for i in range(200)])  # the same plus 40 more: 60%
    line = headline(compare(base, tuned))
    assert line == ("The fine-tuned model answers 20 more questions out of 100 correctly than its base; "
                    "a difference this large is very unlikely to be luck (p < 0.001).")
    worse = headline(compare(tuned, base), base="its base (tiny)", tuned="The fine-tuned model (run:r1)")
    assert worse.startswith("The fine-tuned model (run:r1) answers 20 fewer questions out of 100 correctly than "
                            "its base (tiny)")
    same = headline(compare(base, result_of([i % 10 < 4 for i in range(200)])))
    assert "about as many questions correctly" in same and "could be luck (p = 1.00)" in same
    assert significance(0.004) == "a difference this large is unlikely to be luck (p = 0.004)"
    assert significance(0.03).startswith("this is probably not luck")


def test_a_model_that_always_answers_the_same_letter_is_flagged():
    preds = [Prediction(pid=f"q{i}", gold=i % 2, pred=0, correct=i % 2 == 0, n_choices=2, groups=["NAT"])
             for i in range(40)]
    notes = model_warnings(EvalResult(method="categorical", fmt="paper", model="m", predictions=preds, data_hash="h"))
    assert any("answers (A) to 100% of the questions" in n for n in notes)
    assert model_warnings(result_of([True] * 30)) == []  # right on everything: nothing to flag
    assert any("not clearly better than guessing" in n for n in model_warnings(result_of([i % 2 == 0 for i in range(20)])))
