"""bench.harness_check: lm-evaluation-harness and the app's categorical scoring agree on a tiny model."""

from __future__ import annotations

import pytest

pytest.importorskip("lm_eval")  # a development dependency (requirements-dev.txt)


@pytest.mark.slow
def test_same_choices_and_probabilities_as_lm_eval(tiny_model_dir):
    import torch

    from bench.harness_check import check
    from core.models.loading import load_model
    from tests.conftest import make_questions

    torch.manual_seed(0)
    loaded = load_model(tiny_model_dir, device="cpu", dtype=torch.float32)
    with torch.no_grad():  # a fresh tiny NanoChat has a zero head (every letter equally likely): give it opinions
        for p in loaded.model.parameters():
            if p.ndim == 2:
                p.normal_(0, 0.1)
    questions = make_questions(9)  # 2, 3 and 4 choices; hints, captions
    result = check(loaded, questions, fmt="paper", batch_size=4)
    assert result.n == 9
    assert result.agree == 9 and not result.disagreements
    assert result.studio_accuracy == result.harness_accuracy
    assert result.max_prob_gap < 1e-4  # the same log-likelihoods, not just the same argmax
    spread = [max(p.probs) - min(p.probs) for p in result.studio.predictions]
    assert min(spread) > 0.01  # the letters really differ, so agreeing is not a tie broken the same way


def test_a_disagreement_is_reported_with_its_margins():
    from bench.harness_check import compare
    from core.evaluation.scoring import EvalResult, Prediction
    from tests.conftest import make_questions

    q = make_questions(1)[0]  # two choices, gold is index q.answer
    studio = EvalResult(method="categorical", fmt="paper", model="m", predictions=[
        Prediction(pid=q.pid, gold=q.answer, pred=0, correct=q.answer == 0, n_choices=2, groups=[],
                   probs=[0.6, 0.4])])
    result = compare([q], studio, {q.pid: [-2.0, -1.0]})  # lm-eval prefers the second letter
    assert result.agree == 0 and not result.met
    assert result.disagreements[0]["harness"] == 1 and result.disagreements[0]["studio"] == 0
    assert result.disagreements[0]["harness_margin"] == pytest.approx(1.0)
