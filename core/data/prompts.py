"""Prompt formats: how a ScienceQA question becomes a conversation.

The one source of truth for training, evaluation, the data preview and the chat. A format turns a
`Question` into chat messages (`[{"role": ..., "content": ...}]`); which tokens carry loss is then
decided by the model's chat template (assistant turns only), never here.

Formats:
- `paper`: the ScienceQA paper's QCM->A: "Question: ...\\nContext: ...\\nOptions: (A) ... (B) ..."
  answered by "The answer is X."
- `paper_ale`: QCM->ALE, the same answer followed by the lecture and the solution (the tutor's
  style: a letter, then why).
- `nanochat`: nanochat's own multiple-choice rendering: each choice followed by its letter, the
  answer is the letter alone.
- `tutor`: teaches both behaviours of a tutor from the same rows. Multiple-choice turns are the
  paper's prompt answered by "The answer is X." and a short why (the solution, trimmed); open turns
  (`open_turns`) ask the question without its options where it still makes sense, or ask to explain
  the row's skill, and are answered in prose from the solution and the lecture. The row's grade goes
  into the system prompt (`with_grade`), so the model learns to answer at that level. Every other row
  (by pid) also carries a lesson retrieved for it from the other training rows (`with_lesson`,
  core.data.lessons), as the chat retrieves one, so the model learns to answer from a lesson and to
  cope with an imperfect one; the other rows teach it to answer without one.

A format never changes the answer prefix of its multiple-choice turns, so categorical evaluation
(core.evaluation.scoring) scores every format the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from core.data.records import LETTERS, Question

DEFAULT_SYSTEM_PROMPT = "You are a friendly science tutor for school students."
# The tutor's sampling defaults: the chat's (core.serving.chat.ChatSettings) and an exported model's (Modelfile)
TUTOR_TEMPERATURE = 0.7
TUTOR_TOP_P = 0.9


@dataclass(frozen=True)
class PromptFormat:
    name: str
    label: str
    answer_prefix: str  # assistant text before the answer letter
    explains: bool  # whether the answer goes on with the lecture and solution
    teaches: bool = False  # open turns beside the multiple-choice ones, the grade in the system prompt


FORMATS: dict[str, PromptFormat] = {
    f.name: f
    for f in [
        PromptFormat("paper_ale", "ScienceQA paper, answer + lecture + explanation (QCM→ALE)", "The answer is ", True),
        PromptFormat("paper", "ScienceQA paper, answer only (QCM→A)", "The answer is ", False),
        PromptFormat("nanochat", "nanochat multiple choice (letter only)", "", False),
        PromptFormat("tutor", "Tutor: the answer and a short why, and open questions explained", "The answer is ",
                     True, teaches=True),
    ]
}
DEFAULT_FORMAT = "paper_ale"


def get_format(name: str) -> PromptFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown prompt format {name!r}; choose one of {', '.join(FORMATS)}") from None


def build_context(q: Question, use_caption: bool = True) -> str:
    """The question's context: its hint plus, for image questions, the image caption."""
    parts = [q.hint.strip()]
    if use_caption and q.has_image and q.caption.strip():
        parts.append(f"Image: {q.caption.strip()}")
    return "\n".join(p for p in parts if p)


def user_message(q: Question, fmt: str = DEFAULT_FORMAT, use_caption: bool = True) -> str:
    """The user's turn for a question in the given format."""
    f = get_format(fmt)
    letters = LETTERS[: len(q.choices)]
    context = build_context(q, use_caption)
    if f.name == "nanochat":
        text = f"Multiple Choice question: {q.question}\n"
        if context:
            text += f"Context: {context}\n"
        text += "".join(f"- {c}={l}\n" for l, c in zip(letters, q.choices))
        return text + "\nRespond only with the letter of the correct answer."
    options = " ".join(f"({l}) {c}" for l, c in zip(letters, q.choices))
    return f"Question: {q.question}\nContext: {context or 'N/A'}\nOptions: {options}"


def assistant_message(q: Question, fmt: str = DEFAULT_FORMAT) -> str:
    """The assistant's (target) turn: the answer letter; for `paper_ale` the lecture and solution; for
    `tutor` a short why (`short_why`)."""
    f = get_format(fmt)
    text = f"{f.answer_prefix}{q.answer_letter}"
    if f.name == "nanochat":
        return text
    text += "."
    if f.teaches:
        why = short_why(q)
        return f"{text} {why}" if why else text
    if f.explains:
        because = " ".join(p.strip() for p in (q.lecture, q.solution) if p.strip())
        if because:
            text += f" BECAUSE: {because}"
    return text


def with_grade(system_prompt: str | None, grade: int | None) -> str | None:
    """The system prompt for a student of a grade (1-12); unchanged without one."""
    if not system_prompt or not grade:
        return system_prompt
    return f"{system_prompt} The student is in grade {grade}: explain in words a grade {grade} student can read."


LESSON_INTRO = "Use this lesson to answer."


def with_lesson(system_prompt: str | None, lesson: str | None) -> str | None:
    """The system prompt with a lesson's text after it (the chat's grounding and the tutor format's
    training put it in the same place); unchanged without one."""
    if not lesson or not lesson.strip():
        return system_prompt
    return f"{system_prompt}\n\n{LESSON_INTRO}\n{lesson.strip()}" if system_prompt else f"{LESSON_INTRO}\n{lesson.strip()}"


def to_messages(
    q: Question,
    fmt: str = DEFAULT_FORMAT,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    with_answer: bool = True,
    use_caption: bool = True,
    lesson: str | None = None,
) -> list[dict[str, str]]:
    """The conversation a question becomes. Without the answer it ends on the user turn (for prompting).
    A `lesson` (a retrieved lesson's text) goes into the system prompt, after the grade."""
    if get_format(fmt).teaches:
        system_prompt = with_grade(system_prompt, q.grade_number)
    system_prompt = with_lesson(system_prompt, lesson)
    messages = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": user_message(q, fmt, use_caption)})
    if with_answer:
        messages.append({"role": "assistant", "content": assistant_message(q, fmt)})
    return messages


# ---- The tutor format's rules: how much of a solution or lecture a turn keeps, which rows become open turns.

WHY_WORDS = 60  # the why after "The answer is X.": the solution, cut to whole sentences within this many words
LECTURE_WORDS = 120  # an explained skill: the lecture, cut the same way
OPEN_LEAD_WORDS = 20  # an open answer shorter than this starts with the lecture's first sentences
# Open questions taught per idea (`opening`: the lecture's first sentence, else the skill). One idea with
# hundreds of rows would otherwise set the answer to every question: trained on the embedded sample, where
# the measurement lecture ("A measurement has two parts ...") led 821 of 1,008 open answers, SmolLM2 began
# 11 of 48 unrelated open answers with it (bench/tutor_bench.py).
OPEN_PER_IDEA = 10
# An open question must read as a question without its options: a wh-question, or a yes/no question that
# names its own alternatives ("Is a scarf a solid or a liquid?"), one line, pointing at nothing unseen.
OPEN_STARTS = re.compile(r"^(What|Why|How|Where|When|Who)\b|^(Is|Are|Does|Do|Can)\b.* or ")
POINTS_AT = re.compile(r"\b(this|these|those|following|below|above|shown|picture|image|map|passage|text|"
                       r"sentence|information|choose|select|option|options|experiment|pair|sample|statement|"
                       r"likely|best|better)\b", re.I)
INSTRUCTION_HINT = re.compile(r"^(Select|Choose)\b")  # a hint that only says how to pick among options
BARE_CHOICES = {"yes", "no", "true", "false"}
# A sentence that points at something the student cannot see in a chat ("The table below shows ...").
UNSEEN = re.compile(r"\b(below|above|table|shown|look at|the picture|the image|the map|read the text)\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
SKILL_VERBS = {"identify", "choose", "use", "compare", "read", "describe", "classify", "interpret", "predict",
               "estimate", "recall", "suggest", "analyze", "understand", "put", "select", "find", "determine",
               "label", "solve", "calculate", "recognize", "distinguish", "explain", "evaluate", "weigh"}


def sentences(text: str) -> list[str]:
    """A text's sentences, line by line; table rows ("a | b | c"), lines that introduce them and sentences
    that point at something unseen are left out."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or "|" in line or line.endswith(":"):
            continue
        out += [s.strip() for s in SENTENCE_END.split(line) if s.strip() and not UNSEEN.search(s)]
    return out


def _fit(parts: list[str], limit: int) -> list[str]:
    """The leading sentences within `limit` words (at least the first)."""
    kept, words = [], 0
    for s in parts:
        n = len(s.split())
        if kept and words + n > limit:
            break
        kept.append(s)
        words += n
    return kept


def trim(text: str, limit: int, keep_conclusion: bool = False, about: str = "") -> str:
    """Whole sentences of `text` within `limit` words; with `keep_conclusion` a closing "So, ..." sentence
    that would be cut replaces the sentences before it that do not fit. When the text is too long and a
    sentence names `about` (the right answer), the kept sentences start there."""
    parts = sentences(text)
    if about and sum(len(s.split()) for s in parts) > limit:
        first = next((i for i, s in enumerate(parts) if about.lower() in s.lower()), 0)
        parts = parts[first:]
    if keep_conclusion and len(parts) > 1 and parts[-1].startswith("So") and \
            sum(len(s.split()) for s in parts) > limit:
        last = parts[-1]
        head = _fit(parts[:-1], max(1, limit - len(last.split())))
        return " ".join(head + [last])
    return " ".join(_fit(parts, limit))


def short_why(q: Question) -> str:
    """Why the answer is right, in a few sentences: the solution trimmed, or the lecture's first
    sentences when the row has no solution."""
    if q.solution.strip():
        return trim(q.solution, WHY_WORDS, keep_conclusion=True, about=q.choices[q.answer].strip())
    return trim(q.lecture, WHY_WORDS // 2)


def open_question(q: Question) -> str | None:
    """The question as a student would ask it without options, or None where it needs them (or an
    unseen image, passage or hint) to make sense, or where its answer is a bare yes/no."""
    text = q.question.strip()
    if "\n" in text or not text.endswith("?") or not OPEN_STARTS.search(text) or POINTS_AT.search(text):
        return None
    if q.hint.strip() and not INSTRUCTION_HINT.match(q.hint.strip()):
        return None  # the hint carries context the question depends on
    if q.choices[q.answer].strip().lower() in BARE_CHOICES or not q.solution.strip():
        return None
    return text


def open_answer(q: Question) -> str:
    """An open question's answer in prose: the solution's sentences that do not name a wrong choice,
    led by the answer itself when none of them says it, and by the lecture when they are few."""
    right = q.choices[q.answer].strip()
    wrong = [c.strip().lower() for i, c in enumerate(q.choices) if i != q.answer and len(c.strip()) > 2]
    kept = [s for s in sentences(q.solution) if not any(w in s.lower() for w in wrong)]
    body = " ".join(_fit(kept, WHY_WORDS))
    if right.lower() not in body.lower():
        lead = right[0].upper() + right[1:]
        body = f"{lead}{'' if lead.endswith(('.', '!', '?')) else '.'} {body}".strip()
    if len(body.split()) < OPEN_LEAD_WORDS and q.lecture.strip():
        body = f"{trim(q.lecture, OPEN_LEAD_WORDS)} {body}"
    return body


def skill_request(skill: str) -> str:
    """A student's request to explain a ScienceQA skill: its own question, "How do I ...?" for an
    instruction ("Identify needs and wants"), else "Can you explain ...?"."""
    skill = skill.strip().rstrip(".")
    if skill.endswith("?"):
        return skill
    first, _, rest = skill.partition(" ")
    if first.lower() in SKILL_VERBS and rest:
        return f"How do I {first.lower()} {rest}?"
    return f"Can you explain this topic: {skill}?"


def open_turns(q: Question, explain_skill: bool = True, ask: bool = True) -> list[tuple[str, str]]:
    """The tutor format's open (user, assistant) turns from one row: its question without options
    (`open_question`, unless `ask` is False), and a request to explain its skill answered from the lecture
    (when it has one)."""
    turns = []
    question = open_question(q) if ask else None
    if question:
        turns.append((question, open_answer(q)))
    if explain_skill and q.skill.strip() and q.lecture.strip():
        answer = trim(q.lecture, LECTURE_WORDS)
        if answer:
            turns.append((skill_request(q.skill), answer))
    return turns


def opening(q: Question) -> str:
    """The idea a row teaches, for balancing open turns: its lecture's first sentence (rows of several
    skills share one lecture's opening), else its skill."""
    lecture = sentences(q.lecture)
    return lecture[0] if lecture else q.skill.strip()


LESSON_LECTURE_WORDS = 70  # a lesson shown to a model: its lecture cut to whole sentences within this many words
LESSON_SOLUTION_WORDS = 60  # and the nearest row's solution, cut the same way


def lesson_text(lesson, lecture_words: int = LESSON_LECTURE_WORDS, solution_words: int = LESSON_SOLUTION_WORDS) -> str:
    """A retrieved lesson (core.data.lessons.Lesson) as a model reads it: its title, its lecture and the
    nearest row's solution as an example, each trimmed to whole sentences."""
    parts = [f"Lesson: {lesson.title}"]
    lecture = trim(lesson.lecture, lecture_words) if lecture_words else ""
    solution = trim(lesson.solution, solution_words, keep_conclusion=True) if solution_words else ""
    parts += [lecture] if lecture else []
    parts += [f"Example: {solution}"] if solution else []
    return "\n".join(parts)


def lesson_rows(q: Question) -> bool:
    """Whether a row's training conversations carry a retrieved lesson: every other row, by a stable hash
    of its pid (the rest teach answering without one, as with grounding off)."""
    import zlib

    return zlib.crc32(q.pid.encode("utf-8")) % 2 == 0


def retrieved_lessons(questions: list[Question]) -> dict[str, str]:
    """pid -> the text of the lesson retrieved for that row from the OTHER rows (never its own), as the
    chat retrieves one for a question typed with its options; only for the rows `lesson_rows` picks."""
    from core.data.lessons import LessonIndex

    chosen = [q for q in questions if lesson_rows(q)]
    if not chosen:
        return {}
    index = LessonIndex.from_questions(questions)
    asked = [f"{q.question} " + " ".join(f"({l}) {c}" for l, c in zip(LETTERS, q.choices)) for q in chosen]
    found = index.retrieve_many(asked, 1, [{q.pid} for q in chosen])
    return {q.pid: lesson_text(found_[0]) for q, found_ in zip(chosen, found) if found_}


def training_conversations(questions: list[Question], fmt: str = DEFAULT_FORMAT,
                           system_prompt: str | None = DEFAULT_SYSTEM_PROMPT) -> list[list[dict[str, str]]]:
    """Every conversation training sees for these rows: one multiple-choice conversation per row, and in
    a teaching format its open turns: each skill's lecture once (many rows share a skill and lecture), and
    at most OPEN_PER_IDEA open questions per idea (`opening`). In a teaching format half the rows' turns
    carry a lesson retrieved from the other rows (`retrieved_lessons`)."""
    convs, seen, asked = [], set(), Counter()
    teaches = get_format(fmt).teaches
    lessons = retrieved_lessons(questions) if teaches else {}
    for q in questions:
        convs.append(to_messages(q, fmt, system_prompt, lesson=lessons.get(q.pid)))
        if not teaches:
            continue
        key = (q.skill.strip(), q.lecture.strip())
        idea = opening(q)
        ask = asked[idea] < OPEN_PER_IDEA
        turns = open_turns(q, explain_skill=key not in seen, ask=ask)
        asked[idea] += ask and open_question(q) is not None
        seen.add(key)
        system = with_lesson(with_grade(system_prompt, q.grade_number), lessons.get(q.pid))
        for user, answer in turns:
            conv = [{"role": "system", "content": system}] if system else []
            convs.append(conv + [{"role": "user", "content": user}, {"role": "assistant", "content": answer}])
    return convs
