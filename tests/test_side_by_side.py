"""Compare's side-by-side in core: a typed question is validated in one line; each model's choice
probabilities (under the device turn) sum to 1; both replies stream through the shared batcher."""

from __future__ import annotations

import pytest

from conftest import make_questions
from core.errors import StudioError
from core.evaluation.side_by_side import probabilities, replies, typed_question
from core.jobs.device import device_holder
from core.models.tiny import create_tiny
from core.serving.chat import get_model


def test_a_typed_question_keeps_its_choices_and_answer():
    q = typed_question("Which of these is a mammal?", "whale\n\n shark \ntrout\n", answer=0)
    assert (q.question, q.choices, q.answer, q.answer_letter) == ("Which of these is a mammal?",
                                                                  ["whale", "shark", "trout"], 0, "A")


@pytest.mark.parametrize("text, choices, answer, says", [
    ("Which is a mammal?", "whale", 0, "between 2 and 5 choices"),
    ("Which is a mammal?", "a\nb\nc\nd\ne\nf", 0, "between 2 and 5 choices"),
    ("Which is a mammal?", "whale\nWhale", 0, "the same"),
    ("Which is a mammal?", "whale\nshark", 2, "Pick the right choice"),
    ("   ", "whale\nshark", 0, "The question is empty"),
])
def test_a_bad_typed_question_is_refused_in_one_line(text, choices, answer, says):
    with pytest.raises(StudioError) as e:
        typed_question(text, choices, answer)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_each_models_choice_probabilities_sum_to_one(tiny_model_dir, tmp_path):
    other = tmp_path / "other"
    create_tiny(make_questions(60), other, size="xs", seed=1)
    models = [get_model(tiny_model_dir), get_model(other)]
    q = typed_question("Which of these is a mammal?", ["whale", "shark", "trout"], 0)
    probs = probabilities(models, q, ["paper", "paper"])
    assert [len(p) for p in probs] == [3, 3]
    assert all(abs(sum(p) - 1) < 1e-5 and min(p) >= 0 for p in probs)
    assert probs[0] != probs[1]  # two models, two answers: not one computed twice
    assert device_holder() is None  # the turn was given back


def test_both_replies_stream_and_the_same_seed_gives_the_same_reply(tiny_model_dir):
    models = [get_model(tiny_model_dir)] * 2
    q = make_questions(4)[0]
    first = ["".join(r) for r in replies(models, q, ["paper", "paper"], temperature=1.0, seed=7, max_new_tokens=12)]
    again = ["".join(r) for r in replies(models, q, ["paper", "paper"], temperature=1.0, seed=7, max_new_tokens=12)]
    assert all(first) and first == again
    with pytest.raises(StudioError, match="temperature"):
        replies(models, q, ["paper", "paper"], temperature=5.0)


def test_scoring_waits_for_a_busy_device_then_says_who_holds_it(tiny_model_dir):
    import threading

    from core.jobs.device import device_lease

    taken, release = threading.Event(), threading.Event()

    def training():
        with device_lease(holder="training r9"):
            taken.set()
            release.wait(30)

    import time

    from core.serving.turns import device_queue

    line = device_queue(get_model(tiny_model_dir).device)
    deadline = time.time() + 120
    while len(line) and time.time() < deadline:  # an earlier test's reply may still be decoding in this process
        time.sleep(0.1)
    t = threading.Thread(target=training)
    t.start()
    try:
        taken.wait(10)
        q = typed_question("Which of these is a mammal?", ["whale", "shark"], 0)
        with pytest.raises(StudioError, match=r"busy \(training r9\)"):
            probabilities([get_model(tiny_model_dir)], q, ["paper"], wait=0.5)
    finally:
        release.set()
        t.join()
    assert len(probabilities([get_model(tiny_model_dir)], q, ["paper"], wait=5)[0]) == 2  # free again: scored
