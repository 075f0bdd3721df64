"""What the tutor says in a practice session: the hint ladder, the one-sentence why of a right answer,
and the explanation of a wrong one, grounded in the row's OWN lecture and solution (given to the model
as context, so a small model explains from the source, not from memory).

Generation goes through `generate` only: each explanation joins the model's continuous batch
(core.serving.chat.submit), so a class's explanations are decoded together rather than one after another.
`stream_events` reads the reply in the caller's own thread: the student's place in line while they wait,
then the text; a student who leaves cancels their row.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.data.prompts import DEFAULT_SYSTEM_PROMPT, build_context, sentences
from core.data.records import LETTERS, Question

HINT_TITLES = {1: "Hint", 2: "The lesson", 3: "The worked solution"}
MAX_CONTEXT_CHARS = 2500  # lecture + solution given to the model (a 135M model's window is 2,048 tokens)


def hint_text(q: Question, step: int) -> str:
    """Step 1: the first sentence of the lesson (the row's hint is already shown as the question's
    context); 2: the lesson; 3: the solution. A step the row has no text for falls to the next one."""
    lecture, solution = q.lecture.strip(), q.solution.strip()
    first = (sentences(lecture) or [""])[0]
    ladder = [first or lecture or solution, lecture or solution, solution or lecture]
    text = ladder[max(1, min(step, 3)) - 1]
    return text or "This question has no lesson attached; think about what each option means."


def why_sentence(q: Question) -> str:
    """One sentence saying why the right answer is right: the solution's sentence that names it (its
    closing "So, ..." first), else the lecture's first sentence."""
    right = q.choices[q.answer].strip().lower()
    parts = sentences(q.solution)
    naming = [s for s in parts if right and right in s.lower()]
    pick = next((s for s in reversed(naming) if s.startswith("So")), None) or (naming[0] if naming else None)
    return pick or (parts[-1] if parts else (sentences(q.lecture) or [""])[0])


def option(q: Question, i: int) -> str:
    return f"({LETTERS[i]}) {q.choices[i]}"


def question_text(q: Question) -> str:
    """The question as a student sees it: the question, its context (hint, image caption) and options."""
    context = build_context(q)
    lines = [q.question.strip()] + ([context] if context else [])
    return "\n".join(lines + [option(q, i) for i in range(len(q.choices))])


def _lesson(q: Question) -> str:
    text = "\n".join(p for p in (f"Lesson: {q.lecture.strip()}" if q.lecture.strip() else "",
                                 f"Solution: {q.solution.strip()}" if q.solution.strip() else "") if p)
    return text[:MAX_CONTEXT_CHARS]


INSTRUCTIONS = (f"{DEFAULT_SYSTEM_PROMPT} A student answered a question wrongly. Explain kindly, in two or three "
                "short sentences, using only this lesson.")


def system_prompt(q: Question) -> str:
    """The tutor's instructions with the row's own lesson and solution as the source to explain from."""
    return f"{INSTRUCTIONS}\n{_lesson(q)}"


def explanation_messages(q: Question, chosen: int) -> list[dict[str, str]]:
    """The conversation that asks the model to explain a wrong answer. The options are named by their text,
    not their letters: SmolLM2-135M, asked with letters, answered "The correct answer is (C)" to a
    two-option question (read from its replies on the sample)."""
    context = build_context(q)
    right, wrong = q.choices[q.answer].strip(), q.choices[chosen].strip()
    user = (f"Question: {q.question.strip()}\n" + (f"{context}\n" if context else "")
            + f'I answered "{wrong}", but the right answer is "{right}". Why is "{right}" right?')
    return [{"role": "system", "content": system_prompt(q)}, {"role": "user", "content": user}]


def wrong_claim(q: Question, text: str) -> bool:
    """The reply states as THE answer something other than the right option (another option, or none of
    them: "The correct answer is "drunk.""), or says another option is right without the word answer
    ("Yes, milk is correct."). Both read by core.evaluation.answer_text; a long right option quoted whole
    with its closing period is the right one (the old check called it wrong and corrected a good reply)."""
    from core.evaluation.answer_text import answer_options, claims_right, stated_answers

    if any(q.answer not in answer_options(said, q.choices) for said in stated_answers(text)):
        return True
    return any(claims_right(text, i, q.choices) for i in range(len(q.choices)) if i != q.answer)


def correction(q: Question) -> str:
    """Said after a reply that named a wrong answer: the right one, from the row's own solution."""
    return f"\n\n(Careful: that is not right. The right answer is \"{q.choices[q.answer].strip()}\". {why_sentence(q)})"


def worked_solution(q: Question) -> str:
    """The row's own answer and worked solution, as a student reads it in place of an explanation that did
    not hold up (the solution cut to a few sentences; the why sentence where the row has no solution)."""
    text = " ".join(sentences(q.solution)[:6]) or why_sentence(q)
    return f"The right answer is \"{q.choices[q.answer].strip()}\". From the worked solution: {text}"


def shown(q: Question, text: str, chosen: int | None = None) -> str:
    """What the student reads once the model's explanation `text` has ended. The explanation of a wrong
    answer (`chosen`, the student's option) stays only when it names the right option and states no other
    answer (core.evaluation.answer_text.check_explanation, strict); else the row's own worked solution
    replaces it: a small model's fluent wrong science ("baking lasagna takes 24-90 days") is not left on
    a student's screen. A follow-up's reply (`chosen` None) gets a correction where it names a wrong answer;
    an empty reply, the solution's why sentence."""
    if not text.strip():
        return why_sentence(q)
    if chosen is not None and chosen != q.answer:
        from core.evaluation.answer_text import check_explanation

        return text if check_explanation(text, q.choices, q.answer, chosen).strict else worked_solution(q)
    return text + correction(q) if wrong_claim(q, text) else text


def followup_messages(q: Question, chosen: int | None, history: list[dict[str, str]],
                      message: str) -> list[dict[str, str]]:
    """A follow-up question in the chat: the same grounding, the conversation so far, the new turn."""
    start = explanation_messages(q, chosen) if chosen is not None else [
        {"role": "system", "content": system_prompt(q)}, {"role": "user", "content": question_text(q)}]
    turns = [m for m in history if m.get("role") in ("user", "assistant") and str(m.get("content", "")).strip()]
    return start + [{"role": m["role"], "content": str(m["content"])} for m in turns[-6:]] + \
        [{"role": "user", "content": message}]


def fitted(loaded, messages: list[dict[str, str]], settings=None) -> list[dict[str, str]]:
    """The messages with the system turn's lesson shortened (from its end, a fifth of its words at a time,
    never into the tutor's instructions) until the prompt fits the model's window beside the reply's room:
    a long lesson must not stop a small-window model's explanation (the tiny model's 1,024 tokens read
    1,604 for a real row's lesson). Older turns are still dropped first by core.serving.chat.submit."""
    from core.errors import StudioError
    from core.serving.chat import ChatSettings, fit_messages

    budget = loaded.context_length - (settings or ChatSettings()).max_new_tokens
    if not messages or messages[0]["role"] != "system":
        return messages
    words, keep = messages[0]["content"].split(" "), len(INSTRUCTIONS.split(" "))
    n = len(words)
    while True:
        try:
            fit_messages(loaded.tokenizer, messages, budget)
            return messages
        except StudioError:
            if n <= keep:
                raise
            n = max(keep, int(n * 0.8))
            messages = [{"role": "system", "content": " ".join(words[:n])}] + messages[1:]


def generate(loaded, messages: list[dict[str, str]], settings=None):
    """The one place practice generates text: the request joins the model's shared batch
    (core.serving.chat.submit, continuous batching), so a class's explanations are decoded together.
    The lesson is shortened where the whole prompt would not fit (`fitted`). Returns the `Reply` at once
    (`.place`, iterate for text, `.cancel()`)."""
    from core.serving import chat

    return chat.submit(loaded, fitted(loaded, messages, settings), settings)


def stream_events(loaded, messages: list[dict[str, str]], settings=None,
                  poll: float = 0.1) -> Iterator[tuple[str, object]]:
    """('wait', n_ahead) each time the student's place in line changes (then ('wait', 0) once it is their
    turn), then ('text', delta)...; an error is re-raised. Closing the generator (the student left)
    cancels the request: its row leaves the batch at the next step."""
    reply = generate(loaded, messages, settings)
    try:
        last = 0
        while reply.started is None and not reply.done:
            ahead = reply.place
            if ahead and ahead != last:
                yield "wait", ahead
                last = ahead
            reply.wait(poll)
        if last:
            yield "wait", 0
        for delta in reply:
            yield "text", delta
    finally:
        reply.cancel()  # a no-op once it has ended
