"""What a text says about a question's options (core.evaluation.answer_text), on hand-written texts: naming
an option, claiming one is right (as the answer or by praise), the explanation-quality check, the tutor's
filter on a multiple-choice reply, and the practice explanation's correction."""

from __future__ import annotations

from core.data.records import Question
from core.evaluation.answer_text import (
    answer_options,
    check_explanation,
    claims_right,
    names_option,
    names_other,
    only_chosen,
    stated_answers,
)

CHOICES = ["milk", "a rock", "steam"]  # (B) a rock is right in these tests; the student chose (A) milk


def test_an_option_is_named_by_its_text_or_a_clear_letter_not_by_a_stray_capital():
    assert names_option("A rock keeps its shape.", 1, CHOICES)
    assert names_option("The answer is B.", 1, CHOICES) and names_option("(B) is the one.", 1, CHOICES)
    assert names_option("Option B keeps its shape.", 1, CHOICES)
    assert not names_option("A solid keeps its shape.", 0, CHOICES)  # the article, not option A
    assert not names_option("Rocks are hard.", 1, CHOICES)  # "a rock" is not in it
    assert not names_option("Milky drinks are liquids.", 0, CHOICES)  # a word containing it is not it


def test_an_option_inside_a_longer_option_is_not_named_by_the_longer_one():
    choices = ["salt", "salt water"]
    assert names_option("Salt water is a mixture.", 1, choices) and not names_option("Salt water is a mixture.", 0, choices)
    assert claims_right("The answer is salt water.", 1, choices) and not claims_right("The answer is salt water.", 0, choices)


def test_a_yes_or_no_option_is_named_only_where_it_is_marked_as_an_option():
    choices = ["yes", "no"]
    assert not names_option("There is no verb in it, so it says yes to nothing.", 1, choices)
    assert not names_option("There is no verb in it, so it says yes to nothing.", 0, choices)
    assert names_option("No, it is not a run-on sentence.", 1, choices)
    assert names_option('The right option is "no".', 1, choices) and claims_right("The answer is no.", 1, choices)


def test_an_option_is_claimed_right_as_the_answer_or_by_praise_without_the_word_answer():
    for text in ["Yes, milk is correct!", "Milk is right.", "Milk is the best choice.", "(A) is correct.",
                 "The correct answer is milk.", "The answer is A.", "So, it's milk.", "The answer: milk",
                 "The right choice is milk.", "Milk is indeed the right answer.", 'You see, "milk" is correct.']:
        assert claims_right(text, 0, CHOICES), text


def test_negated_hedged_reported_or_asked_mentions_are_not_claims():
    for text in ["Milk is not correct.", "Milk isn't right.", "You might think milk is right, but it flows.",
                 "You chose milk, but it is a liquid.", "Your answer was milk.", "Why is milk wrong?",
                 "Is milk correct?", "The wrong answer is milk.", "Milk is a liquid.", "The answer is not milk.",
                 "Milk is the answer you gave.", "A rock is right next to the milk.", "You said milk is correct."]:
        assert not claims_right(text, 0, CHOICES), text
    assert not claims_right("A rock is right next to the milk.", 1, CHOICES)
    assert claims_right("The answer is A rock.", 1, CHOICES) and not claims_right("The answer is A rock.", 0, CHOICES)


def test_an_explanation_is_good_when_it_names_the_right_option_and_does_not_claim_the_wrong_one():
    good = check_explanation("A rock is a solid: it keeps its shape. Milk is a liquid, so it flows.", CHOICES, 1, 0)
    assert (good.names_right, good.claims_wrong, good.claims_other, good.good) == (True, False, False, True)
    echo = check_explanation('You answered "milk", but the right answer is "a rock". Why is "a rock" right?',
                             CHOICES, 1, 0)
    assert echo.good  # the question in it claims nothing
    praised = check_explanation("Yes, milk is correct! A rock is also hard.", CHOICES, 1, 0)
    assert praised.names_right and praised.claims_wrong and not praised.good
    vague = check_explanation("Solids keep their shape. Liquids flow.", CHOICES, 1, 0)
    assert not vague.names_right and not vague.claims_wrong and not vague.good
    other = check_explanation("Steam is the right answer.", CHOICES, 1, 0)
    assert other.claims_other and not other.claims_wrong and not other.good


def test_an_answer_stated_that_is_none_of_the_options_is_caught():
    # SmolLM2-135M's reply to a real row (colours: blue right, hard chosen): it names blue, but in passing.
    text = ('The correct answer is "white." This is because the first object (the pair of blue and white) '
            "cannot be considered as having any specific physical characteristics.")
    colours = ["blue", "hard", "sticky"]
    assert stated_answers(text) == ["white"] and answer_options("white", colours) == set()
    check = check_explanation(text, colours, 0, 1)
    assert check.good and check.claims_other and not check.strict
    assert stated_answers("The answer is B. Your answer is wrong. The answer is not milk. The answer is correct!") == ["B"]
    assert answer_options("(A)", CHOICES) == {0} and answer_options("a rock because", CHOICES) == {1}
    long = ["According to many scholars, the romantic period began in 1798.",
            "Although elections take place in early November, a president's term does not begin until January."]
    said = stated_answers('So, the correct answer is indeed "Although elections take place in early November, '
                          "a president's term does not begin until January.\"")
    assert [answer_options(x, long) for x in said] == [{1}]
    assert check_explanation("The answer is Although elections take place in early November, a president's term",
                             long, 1, 0).strict  # cut at the comma: its opening words name it


def test_the_student_option_must_be_a_wrong_one():
    import pytest

    with pytest.raises(ValueError):
        check_explanation("A rock.", CHOICES, 1, 1)


def test_the_tutor_filter_drops_praise_of_another_option_too():
    assert names_other("Yes, milk is correct.", 1, CHOICES) and names_other("Steam is right!", 1, CHOICES)
    assert not names_other("A rock is indeed a solid.", 1, CHOICES)
    assert not names_other("Milk is not correct: it flows.", 1, CHOICES)
    deltas = iter(["The answer is (B) a rock. Yes, milk is cor", "rect. A rock keeps its shape."])
    assert "".join(only_chosen(deltas, 1, CHOICES)) == "The answer is (B) a rock. A rock keeps its shape."


def test_a_practice_explanation_praising_the_wrong_option_gets_the_correction():
    from core.practice import explain

    q = Question(pid="p1", question="Which is a solid?", choices=CHOICES, answer=1,
                 solution="A rock keeps its shape. So, a rock is a solid.")
    assert explain.wrong_claim(q, "Yes, milk is correct! It is white.")
    assert not explain.wrong_claim(q, "A rock keeps its shape, and milk is not a solid.")
    shown = explain.shown(q, "Yes, milk is correct! It is white.")
    assert shown.startswith("Yes, milk is correct! It is white.") and 'The right answer is "a rock"' in shown
    assert explain.shown(q, "A rock keeps its shape.") == "A rock keeps its shape."
    assert explain.shown(q, "  ") == "So, a rock is a solid."
    # A long right option quoted whole, with its closing period, is the right one (it was corrected before).
    long = Question(pid="p2", question="Which is a complex sentence?", answer=1, choices=[
        "The romantic period began in 1798.", "Although elections are in November, the term begins in January."])
    good = 'So, the correct answer is indeed "Although elections are in November, the term begins in January."'
    assert not explain.wrong_claim(long, good) and explain.shown(long, good) == good
    assert explain.wrong_claim(long, 'The correct answer is "The romantic period began in 1798."')


def test_a_wrong_answers_explanation_that_fails_the_check_is_replaced_by_the_worked_solution():
    from core.practice import explain

    q = Question(pid="p3", question="How long does it take to bake lasagna?", choices=["33 minutes", "33 hours"],
                 answer=0, solution="Hours are much longer than minutes. So, 33 minutes is the better estimate.")
    solution = 'The right answer is "33 minutes". From the worked solution: Hours are much longer than minutes.'
    for bad in ("Baking lasagna can take 24-90 days.",  # names neither option
                "The correct answer is 33 hours.",  # claims the student's wrong option
                "33 minutes is close, but the correct answer is 40 minutes."):  # states another answer
        assert explain.shown(q, bad, chosen=1).startswith(solution)
    good = "The right answer is 33 minutes: a lasagna bakes in the oven for about half an hour."
    assert explain.shown(q, good, chosen=1) == good
    assert explain.shown(q, "Baking lasagna can take 24-90 days.") == "Baking lasagna can take 24-90 days."  # a follow-up
