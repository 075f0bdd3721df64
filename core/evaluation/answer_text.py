"""What a text says about a multiple-choice question's options, read from the text alone (no model).

- `parse_multiple_choice`: a question a student typed with its options ("... (A) milk (B) a rock", one
  option a line "A. milk", or the paper's "Question: ... Options: ..." rendering), as a `Question`.
- `answers_named` / `chosen_option` / `contradicts`: the options a reply gives as its answer ("(B)", "the
  answer is B", "So, it's a rock"), its answer, and whether it names two different ones.
- `names_option`: whether a text names an option, by its text (a longer option that contains it does not
  count) or its letter in a clear form ("(B)", "option B", "the answer is B").
- `claims_right`: whether a text says an option is right, by "the answer is X" / "so, it's X" or by praise
  that never says "answer" ("Yes, X is correct.", "X is right", "X is the best choice"); a negated,
  hedged ("you might think X is right") or asked ("Why is X right?") statement does not count.
- `names_other` / `only_chosen`: the tutor's filter on a multiple-choice reply (core.evaluation.grounding):
  a sentence that gives or praises another option than the chosen one is dropped.
- `stated_answers` / `answer_options`: what a text states as THE answer, and which options that names
  (none: an answer that is no option, "The correct answer is "white."").
- `check_explanation`: the explanation-quality check (bench/explain_quality.py): does an explanation of a
  wrong answer name the right option, does it claim the student's wrong option is right, and does it state
  another answer (a third option, or none of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from core.data.records import LETTERS, Question

INLINE = re.compile(r"\(([A-J])\)\s*")
LINE = re.compile(r"^\s*\(?([A-J])[.):]\s+(.+?)\s*$", re.MULTILINE)
SENTENCE = re.compile(r"(?<=[.!?])\s+")
AS_ANSWER = re.compile(r"\b(?:answer is|so,? it'?s|so,? it is|correct answer is|correct option is)\s*:?\s*"
                       r"(?:\(((?-i:[A-J]))\)|((?-i:[A-J]))\b(?![\w'])|(.{1,80}?))(?:[.!,;\n]|$)", re.IGNORECASE)
# Right after an option: "... is correct", "... was right", "... is the (correct) answer", "... is the best choice".
_ADV = r"(?:(?:also|indeed|actually|definitely|really|absolutely|certainly|clearly)\s+)?"
PRAISED = re.compile(
    r"""^["”'’)\]]*\s*(?:is|was|would be|will be|'s|’s)\s+""" + _ADV +
    r"(?:(?:the|a|an|your)\s+)?(?:(?:correct|right|true)\b(?!\s+(?:next|here|there|side|hand|angle|after|before|"
    r"away|now|of|to|under|above|below|behind)\b)|(?:best\s+)?(?:answer|option|choice)\b(?!\s+(?:you|that you|your|"
    r"the student|I|they)\b))", re.IGNORECASE)
# Right before an option: "the (correct) answer is ...", "the right choice is ...", "answer: ...", "So, it's ..."
# (not "your answer was ...": a report of the student's choice).
GIVEN = re.compile(r"""(?:(?:(?<!\byour\s)(?<!\bmy\s)(?<!\bstudent's\s)\banswer|\b(?:correct|right|best)\s+(?:option|choice))"""
                   r"""\s*(?:(?:is|was|would be)\s*:?|:)\s*""" + _ADV +
                   r"""|\bso,?\s+(?:it'?s|it is|it was)\s+)["“'‘(]?\s*$""", re.IGNORECASE)
# Words that make a statement about an option not a claim: negation, doubt, a report of what someone chose.
HEDGE = re.compile(r"\b(?:not|no|never|think|thinks|thought|might|may|seem|seems|seemed|believe|believed|assume|"
                   r"guess|guessed|said|say|says|answered|chose|chosen|picked|selected|why|if|whether|wrong|"
                   r"incorrect)\b|n[’']t\b", re.IGNORECASE)
WEAK = {"yes", "no"}  # options that are also common words: named only where marked as an option (`_marked`)
QUOTES = set("\"'“”‘’")
CLAUSE = re.compile(r"[,;:—–]|\b(?:but|however|while|although|whereas|and)\b", re.IGNORECASE)


# ---- a typed question ----------------------------------------------------------------------------

def parse_multiple_choice(text: str) -> Question | None:
    """A typed multiple-choice question (2 or more options lettered A, B, ... in order), else None."""
    body = text.strip()
    options: list[str] = []
    inline = list(INLINE.finditer(body))
    if len(inline) >= 2 and [m.group(1) for m in inline] == list(LETTERS[:len(inline)]):
        stem = body[:inline[0].start()]
        for m, nxt in zip(inline, inline[1:] + [None]):
            options.append(body[m.end():nxt.start() if nxt else len(body)].strip().rstrip(",;").strip())
    else:
        lines = list(LINE.finditer(body))
        if len(lines) < 2 or [m.group(1) for m in lines] != list(LETTERS[:len(lines)]):
            return None
        stem = body[:lines[0].start()]
        options = [m.group(2).strip() for m in lines]
    if not all(options):
        return None
    stem = re.sub(r"\bOptions:\s*$", "", stem.strip()).strip()
    question, hint = stem, ""
    m = re.match(r"^Question:\s*(.*?)\s*(?:\nContext:\s*(.*))?$", stem, re.DOTALL)
    if m:
        question, hint = m.group(1).strip(), (m.group(2) or "").strip()
        hint = "" if hint.upper() == "N/A" else hint
    if not question:
        return None
    return Question(pid="chat", question=question, choices=options, answer=0, hint=hint)


# ---- the answer a reply gives --------------------------------------------------------------------

def answers_named(reply: str, choices: list[str]) -> list[int]:
    """The options a reply gives as its answer, in order: "(B)", "the answer is B", "So, it's a rock"."""
    named = []
    for m in re.finditer(r"\(([A-J])\)", reply):
        named.append((m.start(), LETTERS.index(m.group(1))))
    for m in AS_ANSWER.finditer(reply):
        letter = m.group(1) or m.group(2)
        if letter:
            named.append((m.start(), LETTERS.index(letter.upper())))
        elif m.group(3):
            said = m.group(3).strip().lower()
            hits = [i for i, c in enumerate(choices) if c.strip().lower() and c.strip().lower() in said]
            if len(hits) == 1:
                named.append((m.start(), hits[0]))
    return [i for _, i in sorted(named) if i < len(choices)]


def chosen_option(reply: str, choices: list[str]) -> int | None:
    """The reply's answer: the first option it names as the answer, else the only option whose text it
    mentions; None when it gives none (or mentions several without choosing)."""
    named = answers_named(reply, choices)
    if named:
        return named[0]
    low = reply.lower()
    hits = [i for i, c in enumerate(choices) if len(c.strip()) > 1 and re.search(rf"\b{re.escape(c.strip().lower())}\b", low)]
    return hits[0] if len(hits) == 1 else None


def contradicts(reply: str, choices: list[str]) -> bool:
    """Names two different options as the answer."""
    return len(set(answers_named(reply, choices))) > 1


# ---- naming and claiming an option ---------------------------------------------------------------

def _norm(option: str) -> str:
    return " ".join(option.strip().rstrip(".").split()).lower()


def _text_spans(text: str, option: str) -> list[tuple[int, int]]:
    needle = _norm(option)
    if not needle:
        return []
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in needle.split()) + r"(?!\w)"
    return [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]


def _marked(text: str, a: int, b: int) -> bool:
    """A "yes" or "no" that is an option, not a word of the sentence: quoted, opening a sentence ("No, it
    is not."), or given as the answer."""
    quoted = text[a - 1:a] in QUOTES and text[b:b + 1] in QUOTES
    return quoted or bool(re.search(r"(?:^|[.!?:]\s|\n)\s*$", text[:a])) or bool(GIVEN.search(text[:a]))


def mentions(text: str, i: int, choices: list[str], bare_letter: bool = False) -> list[tuple[int, int, str]]:
    """Where `text` names option `i`, as (start, end, kind): kind "text" for its text (not where it is part
    of a longer option's text: "salt" in "salt water"; "yes"/"no" only where `_marked`), "letter" for "(B)", "option B" or "choice B", and
    with `bare_letter` "bare" for a lone capital "B" followed by punctuation or the end ("the answer is B.")."""
    mine = _norm(choices[i])
    longer = [s for j, c in enumerate(choices) if j != i and mine and len(_norm(c)) > len(mine)
              and re.search(rf"(?<!\w){re.escape(mine)}(?!\w)", _norm(c)) for s in _text_spans(text, c)]
    found = {(a, b, "text") for a, b in _text_spans(text, choices[i])
             if not any(x <= a and b <= y for x, y in longer) and (mine not in WEAK or _marked(text, a, b))}
    letter = LETTERS[i]
    found |= {(*m.span(), "letter") for m in re.finditer(rf"\({letter}\)|\b(?i:option|choice)\s+{letter}\b(?!['’]\w)", text)}
    if bare_letter:
        found |= {(*m.span(), "bare") for m in re.finditer(rf"(?<![\w(]){letter}(?=\s*(?:[.,;:!]|$))", text)}
    return sorted(found)


def names_option(text: str, i: int, choices: list[str]) -> bool:
    """Whether `text` names option `i` by its text or its letter in a clear form ("(B)", "option B", "the
    answer is B")."""
    return any(kind != "bare" or GIVEN.search(text[:a]) for a, _, kind in mentions(text, i, choices, bare_letter=True))


def claim_sentences(text: str) -> list[str]:
    """The statements of a text (questions left out: "Why is X right?" claims nothing)."""
    parts = [s.strip() for line in text.splitlines() for s in SENTENCE.split(line)]
    return [s for s in parts if s and not s.rstrip("\"”'’)").endswith("?")]


def _hedged(before: str) -> bool:
    """The clause before an option mention negates, doubts or reports the claim."""
    return bool(HEDGE.search(CLAUSE.split(before)[-1]))


def claims_right(text: str, i: int, choices: list[str]) -> bool:
    """Whether `text` says option `i` is right: it is given as the answer ("the answer is X", "So, it's
    X") or praised without the word answer ("Yes, X is correct.", "X is right!", "X is the best choice");
    not where the clause before it negates, doubts or reports it ("X is not correct", "You might think X is
    right", "You said X is correct"), and not in a question."""
    for sentence in claim_sentences(text):
        for start, end, kind in mentions(sentence, i, choices, bare_letter=True):
            before, after = sentence[:start], sentence[end:]
            given = bool(GIVEN.search(before))
            praised = kind != "bare" and bool(PRAISED.match(after))  # "A is right" is not about option A
            if (given or praised) and not _hedged(before):
                return True
    return False


STATED = re.compile(r"(?:(?<!\byour\s)(?<!\bmy\s)(?<!\bstudent's\s)\banswer)\s+(?:is|was|would be)\s*:?\s*" + _ADV,
                    re.IGNORECASE)
NOT_AN_ANSWER = {"not", "wrong", "incorrect", "correct", "right", "that", "because", "simple", "clear", "obvious",
                 "easy", "in", "to", "this", "here", "below", "above", "given", "shown", "found"}


def stated_answers(text: str) -> list[str]:
    """What a text states as THE answer ("The correct answer is "white."", "The answer is B."): the words
    after "answer is/was" (a quoted answer to its closing quote, else to the next punctuation), in its
    statements; not a negated or hedged one, nor "your answer was" or "the answer is correct"."""
    out = []
    for sentence in claim_sentences(text):
        for m in STATED.finditer(sentence):
            rest = sentence[m.end():]
            if rest[:1] in QUOTES:
                said = re.split(r"[\"“”‘’]", rest[1:], maxsplit=1)[0]
            else:
                said = re.split(r"[.,;:!?\n]|\s(?:because|since|as|not)\s", rest, maxsplit=1)[0]
            said = said.strip().rstrip(".,;:!").strip()
            first = said.split(" ", 1)[0].lower() if said else ""
            if said and first not in NOT_AN_ANSWER and not _hedged(sentence[:m.start()]):
                out.append(said)
    return out


def answer_options(said: str, choices: list[str]) -> set[int]:
    """The options a stated answer names: a letter ("B", "(B)"), an option's text in it, or its opening
    words (at least 8 characters) where a long option was cut."""
    letter = re.fullmatch(r"\(?([A-J])\)?", said.strip())
    if letter:
        return {LETTERS.index(letter.group(1))} & set(range(len(choices)))
    low = _norm(said.strip(" \"“”‘’'()"))
    return {j for j, c in enumerate(choices) if _norm(c) and (
        re.search(rf"(?<!\w){re.escape(_norm(c))}(?!\w)", low) or (len(low) >= 8 and _norm(c).startswith(low)))}


# ---- the tutor's filter on a multiple-choice reply -------------------------------------------------

def names_other(sentence: str, chosen: int, choices: list[str]) -> bool:
    """Whether a sentence gives an option other than `chosen` as the answer (its letter, or 'the answer is'
    / 'so, it's' followed by its text) or praises it as right without the word answer ("Milk is correct")."""
    others = [i for i in range(len(choices)) if i != chosen]
    if any(re.search(rf"\({LETTERS[i]}\)", sentence) for i in others):
        return True
    if any(claims_right(sentence, i, choices) for i in others):
        return True
    m = re.search(r"\b(?:answer is|so,? it'?s|so,? it is|correct answer:?)\s*\(?((?-i:[A-J]))?\)?\s*(.*)", sentence, re.IGNORECASE)
    if not m:
        return False
    if m.group(1) and len(m.group(1)) == 1 and m.group(1) in LETTERS[:len(choices)]:
        after = m.group(2)
        if not after or not after[:1].isalpha() or m.group(0).split()[-1].startswith("("):
            return LETTERS.index(m.group(1)) != chosen
    rest = m.group(0).lower()
    return any(choices[i].strip().lower() and choices[i].strip().lower() in rest and
               choices[chosen].strip().lower() not in rest for i in others)


def only_chosen(deltas: Iterator[str], chosen: int, choices: list[str]) -> Iterator[str]:
    """Pass the text on sentence by sentence, dropping any sentence that names another option as the
    answer or praises it as right (so a reply never gives two answers)."""
    buffer = ""
    for d in deltas:
        buffer += d
        parts = SENTENCE.split(buffer)
        for s in parts[:-1]:
            if not names_other(s, chosen, choices):
                yield s + " "
        buffer = parts[-1]
    if buffer.strip() and not names_other(buffer, chosen, choices):
        yield buffer


# ---- explanation quality -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ExplanationCheck:
    """What an explanation of a wrong answer says about the options."""
    names_right: bool  # names the right option (its text, or its letter in a clear form)
    claims_wrong: bool  # says the student's wrong option is right
    claims_other: bool  # says something else is right: a third option, or an answer that is none of them

    @property
    def good(self) -> bool:
        """Names the right option and does not claim the student's wrong one is right (issue 25's check)."""
        return self.names_right and not self.claims_wrong

    @property
    def strict(self) -> bool:
        """`good`, and no other answer stated either ("The correct answer is "white."" with blue right)."""
        return self.good and not self.claims_other


def check_explanation(text: str, choices: list[str], right: int, wrong: int) -> ExplanationCheck:
    """The explanation-quality check of `text`, explaining why option `right` is right to a student who
    chose option `wrong`."""
    if right == wrong:
        raise ValueError("The student's option must be a wrong one.")
    others = [i for i in range(len(choices)) if i not in (right, wrong)]
    stated = [answer_options(said, choices) for said in stated_answers(text)]
    names = names_option(text, right, choices) or any(right in s for s in stated)  # a long option cut short
    return ExplanationCheck(names, claims_right(text, wrong, choices),
                            any(claims_right(text, i, choices) for i in others) or any(not s for s in stated)
                            or any(s - {right, wrong} for s in stated))
