"""Evaluation methods: exact scores from a stand-in model with known preferences, the tokenizer's letter
handling, the paper's answer extraction, and the plan's metric shown to pass a random model."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import torch

from conftest import make_questions
from core.data.records import LEADERBOARD_COLUMNS, LETTERS
from core.errors import StudioError
from core.evaluation.categorical import _letter_row, letter_rows
from core.evaluation.generative import extract_answer, parse_prediction
from core.evaluation.scoring import EvalResult, EvalSettings, choice_probabilities, evaluate, prompt_text
from core.models.loading import load_model


class PreferringModel(torch.nn.Module):
    """Wraps the real tiny model: its logits are replaced so it prefers a chosen letter per question.

    The question is recognised from the decoded prompt ("number tN?"); the chosen letter's tokens after
    "The answer is" (derived here independently, with the real tokenizer) get +20 at every kept position.
    """

    def __init__(self, loaded, prefer: dict[str, int]):
        super().__init__()
        self.inner, self.tok, self.prefer = loaded.model, loaded.tokenizer, prefer
        base = self.tok.encode("The answer is", add_special_tokens=False)
        self.letter_tokens = {L: self.tok.encode("The answer is " + L, add_special_tokens=False)[len(base):]
                              for L in LETTERS[:5]}

    def forward(self, input_ids, logits_to_keep, use_cache=False):
        out = self.inner(input_ids=input_ids, logits_to_keep=logits_to_keep, use_cache=False)
        logits = torch.zeros_like(out.logits)  # (B, K, V)
        for b in range(input_ids.shape[0]):
            pid = re.search(r"number (t\d+)\?", self.tok.decode(input_ids[b])).group(1)
            for t in self.letter_tokens[LETTERS[self.prefer[pid]]]:
                logits[b, :, t] += 20.0
        return SimpleNamespace(logits=logits)


def numbered_questions(n: int = 24):
    qs = make_questions(n)
    for q in qs:
        q.question = f"Which is heavier, number {q.pid}?"
    return qs


@pytest.fixture
def loaded(tiny_model_dir):
    return load_model(tiny_model_dir, device="cpu")


def stand_in(loaded, prefer):
    return SimpleNamespace(model=PreferringModel(loaded, prefer), tokenizer=loaded.tokenizer,
                           device=loaded.device, path=loaded.path, context_length=loaded.context_length)


def test_stand_in_model_gets_exactly_the_expected_accuracy_and_breakdown(loaded):
    qs = numbered_questions()
    # Right on two questions of three; wrong (the next letter) on every third.
    prefer = {q.pid: q.answer if i % 3 else (q.answer + 1) % len(q.choices) for i, q in enumerate(qs)}
    result = evaluate(stand_in(loaded, prefer), qs, "paper", batch_size=5)
    assert [p.pred for p in result.predictions] == [prefer[q.pid] for q in qs]
    assert result.correct == sum(1 for i in range(len(qs)) if i % 3)
    for p in result.predictions:
        assert abs(sum(p.probs) - 1) < 1e-6 and max(p.probs) > 0.99
    from core.evaluation.reports import summarize
    cols = summarize(result)["columns"]
    for col in LEADERBOARD_COLUMNS:
        members = [i for i, q in enumerate(qs) if col in q.leaderboard_groups]
        assert cols[col]["n"] == len(members)
        assert cols[col]["correct"] == sum(1 for i in members if i % 3)


def test_letters_that_need_two_tokens_are_scored_by_their_whole_sequence(loaded):
    tok = loaded.tokenizer
    q = make_questions(3)[2]  # 4 choices: " C" and " D" are two tokens in this tokenizer
    prompt = prompt_text(tok, q, "paper", EvalSettings())
    row = letter_rows(tok, [prompt], [4], "The answer is ")[0]
    assert any(len(r) == 2 for r in row.reads), "the fixture tokenizer should split some letter in two"
    probs = choice_probabilities(loaded, q, "paper")
    # Recompute each letter's log-likelihood: one plain forward pass per letter, summing the log-probs of
    # the tokens that follow "The answer is".
    base = tok.encode(prompt + "The answer is", add_special_tokens=False)
    scores = []
    for L in LETTERS[:4]:
        ids = tok.encode(prompt + "The answer is " + L, add_special_tokens=False)
        assert ids[:len(base)] == base
        with torch.no_grad():
            logp = torch.log_softmax(loaded.model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
        scores.append(sum(logp[j - 1, ids[j]].item() for j in range(len(base), len(ids))))
    expected = torch.softmax(torch.tensor(scores), 0).tolist()
    assert probs == pytest.approx(expected, abs=1e-5)


def test_categorical_is_deterministic_and_independent_of_batch_size(loaded):
    qs = make_questions(7)
    a = evaluate(loaded, qs, "nanochat", batch_size=1)
    b = evaluate(loaded, qs, "nanochat", batch_size=4)
    assert [p.pred for p in a.predictions] == [p.pred for p in b.predictions]
    for pa, pb in zip(a.predictions, b.predictions):
        assert pa.probs == pytest.approx(pb.probs, abs=1e-5)


def test_a_tokenizer_that_cannot_tell_letters_apart_is_refused():
    with pytest.raises(StudioError, match="cannot tell the answer letters apart"):
        _letter_row([[1, 2, 9], [1, 2, 9]], "The answer is ")
    # Different contexts but distinct first tokens: scored by the first token.
    row = _letter_row([[1, 2, 5, 6], [1, 2, 7, 8]], "")
    assert row.ids == [1, 2] and row.reads == [[(1, 5)], [(1, 7)]]
    with pytest.raises(StudioError, match="start alike"):
        _letter_row([[1, 5, 6, 7], [1, 5, 8, 9], [1, 3]], "")


def test_empty_selection_and_too_many_choices_are_clear_errors(loaded):
    with pytest.raises(StudioError, match="selection is empty"):
        evaluate(loaded, [], "paper")
    q = make_questions(1)[0]
    q.choices = [f"c{i}" for i in range(len(LETTERS) + 1)]
    with pytest.raises(StudioError, match="answer letters"):
        evaluate(loaded, [q], "paper")


def test_out_of_memory_becomes_a_studio_error_with_a_hint(loaded):
    class Exhausted(torch.nn.Module):
        def forward(self, **kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    fake = SimpleNamespace(model=Exhausted(), tokenizer=loaded.tokenizer, device=loaded.device,
                           path=loaded.path, context_length=1024)
    with pytest.raises(StudioError, match="lower the batch size"):
        evaluate(fake, make_questions(2), "paper")


@pytest.mark.parametrize("text, letter", [
    ("The answer is A.", "A"),
    ("The answer is B. BECAUSE: mass is measured in kilograms.", "B"),
    ("The answer is (C)", "C"),
    ("D", "D"),
    (" (E). ", "E"),
    ("The answer is A. The answer is B.", None),  # the paper counts two answers as FAILED
    ("The answer is A", None),  # the paper's pattern needs a character after the letter
    ("I think it is A.", None),
    ("the answer is a.", None),
    ("", None),
])
def test_answer_extraction_follows_the_paper(text, letter):
    assert extract_answer(text) == letter


def test_a_letter_beyond_the_choices_is_no_answer():
    assert parse_prediction("The answer is C.", 2) is None
    assert parse_prediction("The answer is B.", 2) == 1


def test_generative_counts_format_failures_and_seeds_the_papers_fallback(loaded):
    qs = make_questions(6)
    r1 = evaluate(loaded, qs, "paper", "generative", settings=EvalSettings(max_new_tokens=6, seed=3))
    r2 = evaluate(loaded, qs, "paper", "generative", settings=EvalSettings(max_new_tokens=6, seed=3))
    assert r1.format_failures == sum(p.pred is None for p in r1.predictions)
    assert [p.fallback_pred for p in r1.predictions] == [p.fallback_pred for p in r2.predictions]
    for p in r1.predictions:
        assert (p.fallback_pred is None) == (p.pred is not None)
    d = r1.to_dict()
    assert "format_failures" in d and "fallback_accuracy" in d
    assert EvalResult.from_dict(d).predictions == r1.predictions


def test_the_plan_metric_passes_a_random_model_and_is_labelled_invalid(loaded):
    qs = make_questions(8)  # 2 to 4 choices: chance is about 36%
    plan = evaluate(loaded, qs, "paper", "plan", settings=EvalSettings(plan_max_new_tokens=4))
    chance = sum(1 / len(q.choices) for q in qs) / len(qs)
    assert plan.accuracy >= 0.9 > chance + 0.4
    assert not plan.valid and "INVALID" in plan.warning
    assert plan.predictions[0].output.startswith("Question: ")  # the prompt is part of what is scored


def test_batches_group_similar_lengths_within_the_token_budget():
    from core.evaluation.categorical import _token_batches

    batches = _token_batches([50, 10, 400, 12, 11, 300], max_rows=3, max_tokens=700)
    assert batches == [[1, 4, 3], [0, 5], [2]]  # 3 rows at most; 2 x 300 <= 700 but 3 x 400 is not
    assert sorted(i for b in batches for i in b) == list(range(6))


def test_the_plan_metric_scores_the_prompt_alone_far_above_chance_on_the_official_test(shared_scienceqa):
    from core.data.sources import load_source
    from core.evaluation.scoring import plan_prompt_only_accuracy

    test = load_source(str(shared_scienceqa / "test_qcm.jsonl"))
    chance = sum(1 / len(q.choices) for q in test) / len(test)
    assert len(test) == 4241 and abs(chance - 0.40) < 0.005
    assert plan_prompt_only_accuracy(test) > 0.6  # no model involved at all
