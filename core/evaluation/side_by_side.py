"""One question, several models side by side (Compare's "One question, both models").

Owns: a question typed in by a teacher (validated, one clear line on bad input), each model's probability
of each choice of one question (categorical scoring, core.evaluation.scoring, taken under this process's
device turn: the app's one device lease, core.jobs.device, shared with background jobs and the chat), and
each model's reply streamed through the shared batched generator (core.serving.chat.stream_reply, which
holds the same lease while it decodes). Every model is prompted in the format it was trained in
(core.evaluation.capability.default_format, core.data.prompts.to_messages). Nothing is written: asking
changes nothing, so visitors may ask; the page applies the chat's rate limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from core.data.prompts import to_messages
from core.data.records import Question
from core.errors import StudioError

MAX_TYPED_CHOICES = 5  # ScienceQA's most
MAX_CHOICE_CHARS = 300
HOLDER = "Compare: one question, both models"


def typed_question(text: str, choices: str | Sequence[str], answer: int = 0) -> Question:
    """The question a teacher typed: its text, 2-5 choices (one a line, or a list) and which one is right.
    Raises StudioError in one line on anything else."""
    from core.serving.chat import clean_input

    question = clean_input(text, what="The question")
    lines = choices.splitlines() if isinstance(choices, str) else list(choices)
    picked = [clean_input(c, MAX_CHOICE_CHARS, "A choice") for c in lines if str(c).strip()]
    if not 2 <= len(picked) <= MAX_TYPED_CHOICES:
        raise StudioError(f"Give between 2 and {MAX_TYPED_CHOICES} choices, one a line (there are {len(picked)}).")
    if len({c.casefold() for c in picked}) < len(picked):
        raise StudioError("Two choices are the same: make each choice different.")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(picked):
        raise StudioError(f"Pick the right choice among the {len(picked)} given.")
    return Question(pid="typed", question=question, choices=picked, answer=answer)


def probabilities(models: Sequence, question: Question, formats: Sequence[str],
                  wait: float = 20.0) -> list[list[float]]:
    """Each loaded model's probability of each choice of `question` (each sums to 1), model i prompted in
    `formats[i]`; scored under the device turn, so a training job or a reply never runs at the same time.
    A device busy for more than `wait` seconds (a training run) is one StudioError naming the holder."""
    from core.evaluation.scoring import choice_probabilities
    from core.serving.turns import device_turn

    if len(formats) != len(models):
        raise ValueError("give one prompt format per model")
    out = []
    for loaded, fmt in zip(models, formats):
        with device_turn(loaded.device, HOLDER, wait):
            out.append([float(p) for p in choice_probabilities(loaded, question, fmt)])
    return out


def replies(models: Sequence, question: Question, formats: Sequence[str], temperature: float = 0.0,
            seed: int = 0, max_new_tokens: int = 128) -> list[Iterator[str]]:
    """One reply stream per model (text deltas) to `question` without its answer, model i in `formats[i]`,
    through the shared batched generator; the same sampling and `seed` for every model. Each stream is
    queued when first read and cancelled when its reader stops (core.serving.chat.stream_reply)."""
    from core.serving.chat import ChatSettings, stream_reply

    if len(formats) != len(models):
        raise ValueError("give one prompt format per model")
    try:
        settings = ChatSettings(temperature=float(temperature), max_new_tokens=int(max_new_tokens), seed=int(seed))
    except ValueError as e:
        raise StudioError(f"Bad sampling setting: {e}.") from e
    return [stream_reply(loaded, to_messages(question, fmt, with_answer=False), settings)
            for loaded, fmt in zip(models, formats)]
