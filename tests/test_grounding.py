"""The grounded tutor (core.evaluation.grounding) on the xs tiny model: the lesson in the prompt within the
budget, multiple choice typed in the chat picked by letter probabilities and explained without naming a
second answer, abstention below the calibrated threshold, option-order debiasing, and `chat --lessons`."""

from __future__ import annotations

import json

import pytest
from test_lessons import lesson_rows

from core.__main__ import main
from core.data.lessons import Lesson, LessonIndex
from core.data.prompts import LESSON_INTRO
from core.data.records import Question
from core.evaluation.answer_text import names_other, only_chosen, parse_multiple_choice
from core.evaluation.grounded_choice import choose, fit_lessons
from core.evaluation.grounding import tutor_reply
from core.evaluation.tutor_calibration import Calibration, pick_threshold
from core.serving.chat import ChatSettings, fit_messages, prompt_ids

GREEDY = ChatSettings(temperature=0.0, max_new_tokens=12)
SYSTEM = "You are a friendly science tutor for school students."
MATTER = Lesson("States of matter", "A solid has a shape of its own. A liquid flows. A gas fills its container.",
                "A rock is a solid. It keeps its shape.", "q0", 5.0, "Identify solids, liquids, and gases")
ALWAYS = Calibration(threshold=0.0, debias=False, accuracy_plain=0, accuracy_debiased=0, precision=0, coverage=0, n=0)
NEVER = Calibration(threshold=1.01, debias=False, accuracy_plain=0, accuracy_debiased=0, precision=0, coverage=0, n=0)


@pytest.fixture
def loaded(tiny_model_dir):
    from core.models.loading import load_model

    return load_model(tiny_model_dir)


def test_a_typed_multiple_choice_question_is_recognised_in_its_usual_shapes():
    q = parse_multiple_choice("Which is a solid? (A) milk (B) a rock (C) steam")
    assert (q.question, q.choices) == ("Which is a solid?", ["milk", "a rock", "steam"])
    q = parse_multiple_choice("Which animal is a mammal?\nA. shark\nB. whale\nC) trout")
    assert (q.question, q.choices) == ("Which animal is a mammal?", ["shark", "whale", "trout"])
    q = parse_multiple_choice("Question: Which is hot?\nContext: Think of a stove.\nOptions: (A) ice (B) fire")
    assert (q.question, q.hint, q.choices) == ("Which is hot?", "Think of a stove.", ["ice", "fire"])
    assert parse_multiple_choice("Question: Which is hot?\nContext: N/A\nOptions: (A) ice (B) fire").hint == ""
    for text in ["Why does ice float on water?", "Is (A) a letter?", "Pick (B) or (A) please", "(A) (B)"]:
        assert parse_multiple_choice(text) is None


def test_the_lesson_goes_into_the_prompt_within_the_budget(loaded):
    tok = loaded.tokenizer
    messages, kept = fit_lessons(tok, SYSTEM, [], "Which is a solid?", [MATTER], 10_000)
    assert kept == [MATTER]
    assert messages[0]["content"].startswith(SYSTEM) and LESSON_INTRO in messages[0]["content"]
    assert "A solid has a shape of its own." in messages[0]["content"] and "Example: A rock is a solid." in \
        messages[0]["content"]
    bare = len(prompt_ids(tok, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Which is a solid?"}]))
    full = len(prompt_ids(tok, messages))
    assert full > bare
    # A budget the full lesson does not fit: a shortened lesson or none, never over the budget.
    for budget in (full - 1, bare + 3, bare):
        messages, kept = fit_lessons(tok, SYSTEM, [], "Which is a solid?", [MATTER], budget)
        ids, _ = fit_messages(tok, messages, budget)
        assert len(ids) <= budget
        assert (LESSON_INTRO in messages[0]["content"]) == bool(kept)
    assert fit_lessons(tok, SYSTEM, [], "Which is a solid?", [MATTER], bare)[1] == []


def test_an_open_question_is_answered_with_the_lesson_in_its_context(loaded, monkeypatch):
    from core.serving import chat

    seen = {}
    real = chat.stream_reply

    def spy(loaded_, messages, settings=None, **kw):
        seen["system"] = messages[0]["content"]
        return real(loaded_, messages, settings, **kw)

    monkeypatch.setattr(chat, "stream_reply", spy)
    turn = tutor_reply(loaded, SYSTEM, [], "Why is a rock a solid?", GREEDY, fmt="nanochat", lessons=[MATTER],
                       calib=ALWAYS)
    "".join(turn.deltas)
    assert "A solid has a shape of its own." in seen["system"]
    assert turn.lessons == [MATTER] and turn.lesson_note() == "From the lesson: States of matter"
    off = tutor_reply(loaded, SYSTEM, [], "Why is a rock a solid?", GREEDY, fmt="nanochat", lessons=[], calib=ALWAYS)
    "".join(off.deltas)
    assert seen["system"] == SYSTEM and off.lesson_note() == ""


@pytest.mark.parametrize("fmt", ["paper_ale", "tutor"])
def test_multiple_choice_in_the_chat_picks_the_most_probable_option_and_names_only_it(loaded, fmt):
    text = "Which is a solid? (A) milk (B) a rock (C) steam"
    q = parse_multiple_choice(text)
    from core.data.prompts import with_lesson
    from core.evaluation.grounded_choice import lessons_block

    probs = choose(loaded, q, fmt, with_lesson(SYSTEM, lessons_block([MATTER])), debias=False)
    best = max(range(3), key=probs.__getitem__)
    turn = tutor_reply(loaded, SYSTEM, [], text, GREEDY, fmt=fmt, lessons=[MATTER], calib=ALWAYS)
    reply = "".join(turn.deltas)
    assert turn.choice == best and turn.probs == pytest.approx(probs) and not turn.abstained
    assert reply.startswith(f"The answer is ({'ABC'[best]}) {q.choices[best]}.")
    others = [c for i, c in enumerate("ABC") if i != best]
    assert not any(f"({c})" in reply for c in others)


def test_a_sentence_naming_another_answer_is_dropped():
    choices = ["milk", "a rock", "steam"]
    deltas = iter(["The answer is (B) a rock. A rock keeps its sh", "ape. So, it's (C) steam. The answer is C.",
                   " Milk is a liquid."])
    assert "".join(only_chosen(deltas, 1, choices)) == "The answer is (B) a rock. A rock keeps its shape. Milk is a liquid."
    assert names_other("So, the answer is steam.", 1, choices)
    assert not names_other("So, the answer is a rock, not steam.", 1, choices)
    assert not names_other("Steam is a gas, so it is not a solid.", 1, choices)


def test_low_confidence_abstains_and_shows_the_lesson_instead_of_a_guess(loaded):
    turn = tutor_reply(loaded, SYSTEM, [], "Which is a solid? (A) milk (B) a rock (C) steam", GREEDY,
                       fmt="paper_ale", lessons=[MATTER], calib=NEVER)
    reply = "".join(turn.deltas)
    assert turn.abstained and turn.choice is None and turn.confidence is not None
    assert "not sure" in reply and "The answer is" not in reply
    assert "A solid has a shape of its own." in reply and "States of matter" in reply


def test_the_threshold_keeps_only_answers_right_often_enough():
    conf = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.35, 0.34]
    right = [True, True, True, True, False, True, False, False]
    assert pick_threshold(conf, right, target=0.8, min_kept=3, min_lower=0) == (0.4, 5 / 6, 6 / 8)
    assert pick_threshold(conf, right, target=0.95, min_kept=3, min_lower=0) == (0.6, 1.0, 0.5)
    assert pick_threshold(conf, right, target=0.95, min_kept=5, min_lower=0)[0] > 1  # never sure enough: abstain


def test_a_lucky_few_right_answers_do_not_set_the_threshold():
    # a model at chance on 40 calibration questions whose 11 most confident answers happen to be 8 right
    conf = [1 - i / 100 for i in range(40)]
    right = [True, True, False, True, True, True, False, True, True, False, True] + [False, True] * 14 + [False]
    assert pick_threshold(conf, right, min_lower=0) == (conf[10], 8 / 11, 11 / 40)  # the lowest reaching 70%
    assert pick_threshold(conf, right)[0] > 1  # 8 of 11: the lower bound is 43%, so it never asserts
    # 14 right, then wrong: 14 of 19 is 73.7% with a lower bound of 51.2%; 14 of 20 is 70% but 48.1%
    sure = [True] * 14 + [False] * 26
    assert pick_threshold(conf, sure) == (conf[18], 14 / 19, 19 / 40)


def test_debiased_probabilities_do_not_depend_on_the_order_the_options_were_typed(loaded):
    q = parse_multiple_choice("Which is a solid? (A) milk (B) a rock (C) steam")
    turned = parse_multiple_choice("Which is a solid? (A) a rock (B) steam (C) milk")
    a = choose(loaded, q, "paper_ale", SYSTEM, debias=True)
    b = choose(loaded, turned, "paper_ale", SYSTEM, debias=True)
    assert sum(a) == pytest.approx(1.0)
    assert [a[1], a[2], a[0]] == pytest.approx(b, abs=1e-5)
    plain = choose(loaded, q, "paper_ale", SYSTEM, debias=False)
    assert plain != pytest.approx(a, abs=1e-6)  # the order did matter before averaging


def test_chat_command_lessons_on_names_the_lesson_and_off_answers_without(tiny_model_dir, tmp_path, capsys,
                                                                         monkeypatch):
    from core.serving import chat

    source = tmp_path / "lessons.jsonl"
    source.write_text("\n".join(json.dumps(q.to_dict()) for q in lesson_rows()), encoding="utf-8")
    systems = []
    real = chat.stream_reply

    def spy(loaded_, messages, settings=None, **kw):
        systems.append(messages[0]["content"])
        return real(loaded_, messages, settings, **kw)

    monkeypatch.setattr(chat, "stream_reply", spy)
    args = ["chat", "--model", str(tiny_model_dir), "--temperature", "0", "--max-new-tokens", "6"]
    assert main(args + ["--lessons", str(source), "Why does a solid keep its shape?"]) == 0
    err = capsys.readouterr().err
    assert "From the lesson: States of matter" in err
    assert "A solid has a shape of its own." in systems[-1]
    assert main(args + ["--lessons", "off", "Why does a solid keep its shape?"]) == 0
    err = capsys.readouterr().err
    assert "From the lesson" not in err and "grounding off" in err
    assert LESSON_INTRO not in systems[-1]


def test_chat_grounding_retrieves_from_an_index_of_the_loaded_questions(loaded):
    index = LessonIndex.from_questions(lesson_rows())
    text = "Which of these is a gas? (A) a brick (B) steam"
    turn = tutor_reply(loaded, SYSTEM, [], text, GREEDY, fmt="paper_ale", lessons=index.retrieve(text, 2),
                       calib=ALWAYS)
    "".join(turn.deltas)
    assert turn.lessons[0].title == "States of matter"
    assert isinstance(turn.mc, Question) and turn.mc.choices == ["a brick", "steam"]


def test_the_benchmark_reads_the_answer_a_reply_gives_and_catches_two_answers():
    from bench.grounded_tutor_bench import chosen_option, contradicts

    choices = ["milk", "a rock", "steam"]
    assert chosen_option("(B) A rock. A rock keeps its shape.", choices) == 1
    assert chosen_option("The answer is C. Steam is a gas.", choices) == 2
    assert chosen_option("I think a rock, because it keeps its shape.", choices) == 1
    assert chosen_option("Milk and steam are not solids, a rock is.", choices) is None
    assert contradicts("(B) A rock. So, it's (C) steam.", choices)
    assert contradicts("The answer is B. So, it's steam.", choices)
    assert not contradicts("The answer is (B) a rock. Milk is a liquid and steam is a gas.", choices)
    assert chosen_option("The answer is a rock.", choices) == 1  # "a" is a word here, not the letter A
    assert not names_other("So, the answer is a rock.", 1, choices)


def test_the_benchmark_prints_right_without_and_with_lessons_the_difference_and_the_target():
    from bench.grounded_tutor_bench import summarize, target_lines

    def rec(gold, plain, off, on, abstained_off=False, contradicts_on=False):
        cond = lambda c, ab=False, ct=False: {"choice": c, "abstained": ab, "contradicts": ct, "pick": c or 0,  # noqa: E731
                                              "confidence": 0.2 if ab else 0.9, "threshold": 0.5}
        return {"gold": gold, "n_choices": 2, "plain": cond(plain), "off": cond(off, abstained_off),
                "on": cond(on, False, contradicts_on)}

    records = [rec(0, 1, None, 0, abstained_off=True)] * 8 + [rec(1, 1, 1, 1)] * 2  # 2 right off, 10 on
    s = summarize(records)
    assert s["with_minus_without"]["points"] == 80.0 and s["with_minus_without"]["only_with"] == 8
    text = "\n".join(target_lines("sample", s))
    assert "right WITHOUT lessons (tutor, --lessons off): 2/10 = 20.0%" in text
    assert "right WITH lessons    (tutor, grounded):      10/10 = 100.0%" in text and "+80.0 points" in text
    assert "abstained ('not sure', the lesson shown): off 8/10, on 0/10" in text
    assert ">= 70% right with lessons: met; >= +15 points over without: met; no self-contradicting reply: met" in text
    s = summarize([rec(0, 0, 0, 0, contradicts_on=True)] * 2 + [rec(0, 1, 1, 1)] * 8)
    assert "no self-contradicting reply: NOT met" in "\n".join(target_lines("sample", s))
    assert "target" not in "\n".join(target_lines("real", s))


def test_calibration_is_measured_once_saved_and_measured_again_when_damaged(loaded, studio_home, monkeypatch):
    import core.evaluation.tutor_calibration as calibrating  # its own module (grounding re-exports its names)
    from conftest import make_questions

    measured = []
    real = calibrating.calibrate

    def counting(*args, **kwargs):
        measured.append(args[1:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(calibrating, "held_out", lambda n=0, seed=0: make_questions(8))
    monkeypatch.setattr(calibrating, "calibrate", counting)
    monkeypatch.setattr(calibrating, "_calibrations", {})
    first = calibrating.calibration(loaded, "paper_ale", False)
    assert measured == [("paper_ale", False)] and first.n == 8
    assert 0 <= first.accuracy_plain <= 1 and (first.threshold > 1 or first.precision >= calibrating.TARGET_PRECISION)
    saved = list((studio_home / "cache" / "calibration").glob("*.json"))
    assert len(saved) == 1
    monkeypatch.setattr(calibrating, "_calibrations", {})  # a new process: read from the app home
    assert calibrating.calibration(loaded, "paper_ale", False) == first and len(measured) == 1
    saved[0].write_text('{"threshold": "high"')
    monkeypatch.setattr(calibrating, "_calibrations", {})
    assert calibrating.calibration(loaded, "paper_ale", False) == first and len(measured) == 2
    assert calibrating.warm(loaded, "paper_ale", False) is None  # measured already: nothing started
