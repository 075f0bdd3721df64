"""The tutor format on real ScienceQA rows: golden strings for its multiple-choice turns (with and without
a lecture, with a hint, with an image caption), its open-turn rules where they must and must not apply,
the grade in the system prompt, the loss on assistant tokens only, and categorical scoring unchanged."""

from __future__ import annotations

import pytest

from conftest import make_questions
from core.data.prompts import open_question, open_turns, skill_request, to_messages, training_conversations, with_grade
from core.data.sources import load_source
from core.training.batching import IGNORE, encode_all

GRADE4 = ("You are a friendly science tutor for school students. The student is in grade 4: explain in words a "
          "grade 4 student can read.")


@pytest.fixture(scope="module")
def real(shared_scienceqa):
    return {q.pid: q for q in load_source(str(shared_scienceqa / "original"))}


def turns(messages):
    return [(m["role"], m["content"]) for m in messages]


def test_golden_with_a_hint_and_a_lecture(real):
    assert turns(to_messages(real["26"], "tutor")) == [
        ("system", GRADE4.replace("4", "2")),
        ("user", "Question: How long does it take to bake lasagna in the oven?\nContext: Select the better "
                 "estimate.\nOptions: (A) 33 minutes (B) 33 hours"),
        ("assistant", "The answer is A. The better estimate for how long it takes to bake lasagna in the oven is "
                      "33 minutes. 33 hours is too slow."),
    ]


def test_golden_without_a_lecture_with_an_image_caption(real):
    q = real["35"]
    assert not q.lecture and q.has_image
    assert turns(to_messages(q, "tutor"))[1:] == [
        ("user", "Question: What is the capital of South Carolina?\nContext: Image: A painting of an animal with a "
                 "flower in it.\nOptions: (A) Columbia (B) Montgomery (C) Charleston (D) Harrisburg"),
        ("assistant", "The answer is A. Columbia is the capital of South Carolina."),
    ]


def test_golden_with_a_lecture_and_no_hint(real):
    assert turns(to_messages(real["10"], "tutor"))[1:] == [
        ("user", "Question: Complete the sentence.\nSewing an apron is a ().\nContext: N/A\nOptions: (A) chemical "
                 "change (B) physical change"),
        ("assistant", "The answer is B. Sewing an apron is a physical change. The fabric and thread that make up "
                      "the apron get a new shape, but the type of matter in each of them does not change."),
    ]


def test_a_long_solution_is_trimmed_to_the_sentences_about_the_right_answer(real):
    # The solution walks through every wrong choice first (130+ words); the why starts at the right one.
    why = to_messages(real["57"], "tutor")[-1]["content"]
    assert why == ("The answer is B. Amoebae are living things. Amoebae grow and respond to their environment. "
                   "They need food and water. Amoebae are made up of just one cell. Amoebae live in fresh water, "
                   "in salt water, and in the soil.")
    assert "teddy bear" not in why


def test_a_sentence_pointing_at_an_unseen_table_is_left_out(real):
    why = to_messages(real["47"], "tutor")[-1]["content"]
    assert why.startswith("The answer is D. Originally, many people believed that the war would be over quickly.")
    assert "table" not in why and len(why.split()) <= 60 + 4


def test_open_questions_where_they_make_sense_without_options(real):
    assert open_turns(real["35"]) == [("What is the capital of South Carolina?",
                                       "Columbia is the capital of South Carolina.")]
    # A yes/no question that names its own alternatives; its lecture is explained once as well.
    (q, a), (ask, lecture) = open_turns(real["75"])
    assert (q, a) == ("Is a scarf a solid or a liquid?",
                      "A scarf is a solid. You can fold a scarf. But it will still have a size and shape of its own.")
    assert ask == "How do I classify matter as solid or liquid?"
    assert lecture.startswith("Solid and liquid are states of matter.") and len(lecture.split()) <= 120
    # A hint that only says how to pick among options is dropped; the wrong option's sentence too,
    # and the short answer is led by the lecture's first sentences.
    assert open_turns(real["26"])[0] == (
        "How long does it take to bake lasagna in the oven?",
        "Measurements are written with both a number and a unit. The unit comes after the number. The better "
        "estimate for how long it takes to bake lasagna in the oven is 33 minutes.")


@pytest.mark.parametrize("pid, why", [
    ("11", "points at the image ('the colony shown')"),
    ("10", "a fill-in sentence, not a question"),
    ("18", "its hint carries the context it depends on"),
    ("37", "the trait to judge is on a second line"),
    ("55", "its answer is a bare yes"),
    ("2", "an instruction about an experiment"),
    ("25", "a 'Which of the following' question"),
    ("17", "'this cross' in the image"),
])
def test_no_open_question_where_it_needs_its_options_or_context(real, pid, why):
    assert open_question(real[pid]) is None, why


def test_the_open_turn_rules_on_all_real_rows(real):
    opened = [q for q in real.values() if open_question(q)]
    assert 10 <= len(opened) <= 40  # a minority of real rows read well without options
    for q in opened:
        assert "\n" not in open_question(q) and not q.question.startswith("Which")
    # Open answers are prose: never a letter, never an option list; every row with a lecture explains its skill.
    for q in real.values():
        for ask, answer in open_turns(q):
            assert not answer.startswith("The answer is") and "(A)" not in ask + answer
        assert (skill_request(q.skill) in [a for a, _ in open_turns(q)]) == bool(q.lecture.strip())


def test_skill_requests():
    assert skill_request("Identify needs and wants") == "How do I identify needs and wants?"
    assert skill_request("How is temperature related to thermal energy?") == \
        "How is temperature related to thermal energy?"
    assert skill_request("Greetings and closings of letters") == \
        "Can you explain this topic: Greetings and closings of letters?"


def test_each_skill_lecture_is_explained_once_and_other_formats_add_nothing(real):
    rows = [real["26"], real["26"], real["35"]]
    convs = training_conversations(rows, "tutor")
    users = [c[-2]["content"] for c in convs]
    assert users.count("How do I choose units of time?") == 1
    assert len(convs) == 3 + 2 + 1 + 1  # 3 MC, lasagna asked openly twice, the skill once, the capital once
    assert len(training_conversations(rows, "paper")) == 3
    assert convs[-1][0]["content"].startswith(GRADE4.replace("4", "3"))  # the grade reaches open turns too


def test_one_idea_cannot_fill_the_open_turns(real):
    """Rows sharing a lecture's opening (the sample has hundreds on measurement) teach at most
    OPEN_PER_IDEA open questions; other ideas keep theirs."""
    from dataclasses import replace

    from core.data.prompts import OPEN_PER_IDEA, opening

    many = [replace(real["26"], pid=f"m{i}") for i in range(OPEN_PER_IDEA + 15)]
    convs = training_conversations(many + [real["35"]], "tutor")
    users = [c[-2]["content"] for c in convs]
    question = open_question(real["26"])
    assert question and users.count(question) == OPEN_PER_IDEA
    assert users.count("What is the capital of South Carolina?") == 1
    assert opening(real["26"]) != opening(real["35"])


def test_with_grade():
    assert with_grade("Tutor.", None) == "Tutor."
    assert with_grade(None, 5) is None
    assert with_grade("Tutor.", 9) == "Tutor. The student is in grade 9: explain in words a grade 9 student can read."


def test_loss_only_on_the_assistant_tokens_of_every_tutor_conversation(tiny_model_dir, real):
    from core.models.loading import load_tokenizer

    tok = load_tokenizer(tiny_model_dir)
    rows = [real["26"], real["75"], real["10"]]
    convs = training_conversations(rows, "tutor")
    examples, dropped = encode_all(tok, rows, "tutor", "You are a friendly science tutor for school students.", 4096)
    assert dropped == 0 and len(examples) == len(convs)
    for conv, ex in zip(convs, examples):
        target = tok.decode([t for t in ex.labels if t != IGNORE], skip_special_tokens=True)
        assert target == conv[-1]["content"]  # exactly the assistant's words (plus its end token) carry loss


def test_categorical_scoring_works_in_the_tutor_format(tiny_model_dir):
    from core.evaluation.scoring import evaluate
    from core.models.loading import load_model

    loaded = load_model(tiny_model_dir, device="cpu")
    qs = make_questions(6)
    tutor, paper = evaluate(loaded, qs, "tutor"), evaluate(loaded, qs, "paper")
    assert len(tutor.predictions) == 6 and all(abs(sum(p.probs) - 1) < 1e-5 for p in tutor.predictions)
    # Same answer prefix; only the (grade-aware) system prompt differs, so the probabilities differ a little.
    assert [p.probs for p in tutor.predictions] != [p.probs for p in paper.predictions]
