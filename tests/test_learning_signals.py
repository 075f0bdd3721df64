"""What tells a teacher whether a run learns the science or only the letters: option shuffling in
training, the answer letter's own loss, the guessing and prior lines, and the warning while one letter
takes most answers. Tiny models built here; figures computed by hand in the tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from conftest import make_questions
from core.data.records import LETTERS
from core.jobs import runs
from core.training.batching import IGNORE, TargetLoss, collate, encode, encode_all, shuffled_options
from core.training.letters import guessing_loss, history_warning, letter_warning, prior_loss, top_letter


def test_shuffled_options_keep_the_right_answer_right_in_every_example_and_epoch():
    qs = make_questions(60)
    orders = set()
    for epoch in range(4):
        shuffled = shuffled_options(qs, seed=3, epoch=epoch)
        assert [s.pid for s in shuffled] == [q.pid for q in qs]
        for q, s in zip(qs, shuffled):
            assert sorted(s.choices) == sorted(q.choices)
            assert s.choices[s.answer] == q.choices[q.answer]  # the right answer's text is still the answer
        orders.add(tuple(tuple(s.choices) for s in shuffled))
        assert shuffled_options(qs, seed=3, epoch=epoch) == shuffled  # seeded: a resumed run sees the same
    assert len(orders) == 4  # a new order in every epoch
    gold = [s.answer for s in shuffled_options(qs, 3, 0)]
    assert len(set(gold)) >= 3  # the gold letter moves (the toy task's answer is always A or B)
    assert [q.answer for q in qs] == [q.answer for q in make_questions(60)]  # the originals are untouched


def test_the_answer_letter_is_marked_at_its_token(tiny_model_dir):
    from core.models.loading import load_model

    tok = load_model(tiny_model_dir, device="cpu").tokenizer
    for fmt in ("paper", "tutor", "nanochat", "paper_ale"):
        for q in make_questions(6):
            ex = encode(tok, q, fmt, None)
            assert ex.answer_at is not None and ex.labels[ex.answer_at] != IGNORE
            assert tok.decode([ex.input_ids[ex.answer_at]]).strip() == q.answer_letter
    examples, _ = encode_all(tok, make_questions(12), "tutor", None, 512)
    assert sum(e.answer_at is None for e in examples) > 0  # open turns carry no letter


def letter_logits_hook(tok, letter: str, boost: float):
    """A forward hook on the head that makes the model answer `letter` (the logit of the letter's token
    after "The answer is" raised by `boost`)."""
    token = tok.encode("The answer is " + letter, add_special_tokens=False)[-1]

    def hook(_module, _inputs, out):
        out = out.clone()
        out[..., token] += boost
        return out
    return hook


def test_answer_loss_is_the_letter_tokens_own_cross_entropy(tiny_model_dir):
    from core.models.loading import load_model

    loaded = load_model(tiny_model_dir, device="cpu")
    tok, model = loaded.tokenizer, loaded.model
    qs = make_questions(8)
    examples = [encode(tok, q, "paper", None) for q in qs]
    batch = collate(examples, tok.pad_token_id or 0)
    with torch.no_grad():
        _, letters, n = TargetLoss(model)(batch["input_ids"], batch["labels"], batch["answer_mask"])
        logits = model(input_ids=batch["input_ids"]).logits
    by_hand = [-torch.log_softmax(logits[i, e.answer_at - 1].float(), -1)[e.input_ids[e.answer_at]].item()
               for i, e in enumerate(examples)]
    assert n == len(examples)
    assert float(letters) / n == pytest.approx(sum(by_hand) / len(by_hand), rel=1e-4)
    # a model built to answer "A": the letter loss is ~0 where A is right and large where it is wrong
    model.get_output_embeddings().register_forward_hook(letter_logits_hook(tok, "A", 40.0))
    for q, e in zip(qs, examples):
        b = collate([e], tok.pad_token_id or 0)
        with torch.no_grad():
            _, letter, _ = TargetLoss(model)(b["input_ids"], b["labels"], b["answer_mask"])
        assert (float(letter) < 0.01) if q.answer_letter == "A" else (float(letter) > 5)


def test_a_trained_letter_loss_carries_the_gradient_of_the_letters_alone(tiny_model_dir):
    from core.models.loading import load_model

    model = load_model(tiny_model_dir, device="cpu").model
    tok = load_model(tiny_model_dir, device="cpu").tokenizer
    examples = [encode(tok, q, "paper", None) for q in make_questions(6)]
    batch = collate(examples, tok.pad_token_id or 0)
    args = batch["input_ids"], batch["labels"], batch["answer_mask"]
    assert not TargetLoss(model)(*args)[1].requires_grad  # by default a figure only
    _, letters, n = TargetLoss(model, train_letters=True)(*args)
    letters.backward()
    head = model.get_output_embeddings().weight
    trained = head.grad.clone()
    model.zero_grad()
    logits = model(input_ids=batch["input_ids"]).logits
    by_hand = sum(-torch.log_softmax(logits[i, e.answer_at - 1].float(), -1)[e.input_ids[e.answer_at]]
                  for i, e in enumerate(examples))
    by_hand.backward()
    assert n == 6 and letters.item() == pytest.approx(by_hand.item(), rel=1e-4)
    assert torch.allclose(trained, head.grad, rtol=1e-3, atol=1e-6)


def test_the_answer_weight_teaches_the_letter_faster_on_the_same_steps(tiny_model_dir, toy_source):
    from core.training.recipes import build_config
    from core.training.worker import run_worker

    letter = {}
    for weight in (0.0, 1.0):
        cfg = build_config(str(tiny_model_dir), str(toy_source), recipe="cpu-pretrained", fmt="paper_ale",
                           batch_size=8, epochs=2, eval_every=1000, eval_examples=0, save_every=1000, lr=1e-3,
                           answer_weight=weight)
        run_dir = runs.create_run(toy_source.parent / "runs", cfg.to_dict())
        assert run_worker(run_dir) == 0
        steps = [r for r in runs.read_metrics(run_dir) if "loss" in r]
        letter[weight] = sum(r["answer_loss"] for r in steps[-3:]) / 3
    assert letter[1.0] < letter[0.0]  # the lecture's tokens no longer drown the letter


def test_guessing_and_prior_lines_by_hand():
    qs = make_questions(6)  # choices 2,3,4,2,3,4; answers follow the toy's a > b
    assert guessing_loss(qs) == pytest.approx((2 * math.log(2) + 2 * math.log(3) + 2 * math.log(4)) / 6)
    same = [q for q in make_questions(30) if len(q.choices) == 2]
    a_share = sum(q.answer == 0 for q in same) / len(same)
    want = -(a_share * math.log(a_share) + (1 - a_share) * math.log(1 - a_share))
    assert prior_loss(same) == pytest.approx(want)
    assert prior_loss(same) <= guessing_loss(same)
    assert prior_loss(same, shuffled=True) == guessing_loss(same)


def test_top_letter_and_the_warning():
    assert top_letter([0, 0, 0, 1], [0, 1, 1, 1]) == ("A", 0.75, 0.25)
    assert top_letter([None, None], [0, 1]) is None
    assert "guessing from letter frequency" in letter_warning(0.75, 0.25, "A")
    assert letter_warning(0.75, 0.7, "A") is None  # answers as often as it is right: no prior at work
    assert letter_warning(0.45, 0.1, "A") is None  # no letter takes most answers
    assert history_warning([{"step": 1, "loss": 1.0}]) is None


@pytest.fixture
def toy_source(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(90)))
    return path


def test_a_model_built_to_answer_one_letter_is_warned_about(tiny_model_dir, toy_source):
    from core.models.loading import load_model
    from core.training.recipes import build_config
    from core.training.setup import load_data
    from core.training.validation import evaluate_slice

    loaded = load_model(tiny_model_dir, device="cpu")
    cfg = build_config(str(tiny_model_dir), str(toy_source), recipe="tiny", fmt="paper", eval_examples=30)
    data = load_data(cfg, loaded.tokenizer)
    loaded.model.get_output_embeddings().register_forward_hook(letter_logits_hook(loaded.tokenizer, "A", 40.0))
    res = evaluate_slice(loaded.model, loaded.tokenizer, data, cfg, torch.device("cpu"), None)
    gold_a = sum(q.answer == 0 for q in data.val_questions) / len(data.val_questions)
    assert res["eval_top_letter"] == "A" and res["eval_top_letter_share"] == 1.0
    assert res["eval_top_letter_gold_share"] == pytest.approx(gold_a)
    assert res["eval_accuracy"] == pytest.approx(gold_a)
    assert res["eval_answer_loss"] > 1.0  # wrong with certainty on the questions whose answer is not A
    warning = history_warning([{"step": 3, **res}])
    assert warning and "guessing from letter frequency" in warning and "A" in warning


def test_the_worker_logs_answer_loss_and_shuffles_in_training_only(tiny_model_dir, toy_source, capsys):
    from core.training.recipes import build_config
    from core.training.worker import run_worker

    cfg = build_config(str(tiny_model_dir), str(toy_source), recipe="tiny", fmt="paper", batch_size=8, epochs=2,
                       eval_every=4, eval_examples=12, save_every=100, shuffle_options=True)
    run_dir = runs.create_run(toy_source.parent / "runs", cfg.to_dict())
    assert run_worker(run_dir) == 0
    hist = runs.read_metrics(run_dir)
    steps = [r for r in hist if "loss" in r]
    assert steps and all(r["answer_loss"] is not None and r["answer_loss"] > 0 for r in steps)
    # each optimizer group's actual rate (the tiny recipe: Muon matrices, AdamW embedding and the rest)
    last = steps[-1]
    assert last["lr:matrices (Muon)"] == pytest.approx(cfg.recipe.matrix_lr * last["lr_factor"])
    assert last["lr:embedding (AdamW)"] == pytest.approx(cfg.recipe.embedding_lr * last["lr_factor"])
    evals = [r for r in hist if "eval_top_letter_share" in r]
    assert evals and all(0 < r["eval_top_letter_share"] <= 1 and r["eval_top_letter"] in LETTERS for r in evals)
    st = runs.read_status(run_dir)
    assert st.extra["answer_prior_loss"] == pytest.approx(st.extra["answer_guess_loss"])  # shuffled: no prior
    assert "options shuffled in every epoch" in capsys.readouterr().out  # the worker's log (stdout in-process)


def test_a_damaged_metrics_record_gives_no_warning_and_no_error():
    assert history_warning([{"step": 1, "eval_top_letter_share": "0.9", "eval_top_letter_gold_share": 0.1}]) is None
    assert history_warning([{"step": 1, "eval_top_letter_share": 0.9, "eval_top_letter_gold_share": None}]) is None
    w = history_warning([{"step": 1, "eval_top_letter_share": 0.9, "eval_top_letter_gold_share": 0.1,
                          "eval_top_letter": "<script>"}])
    assert w and "<script>" not in w
