"""Score a model on ScienceQA questions: `evaluate` runs one method over the questions and returns an
`EvalResult` (one `Prediction` per question). This module owns those records, the prompt every method reads
up to where the answer starts (`prompt_text`), the plan's prompt and what it scores with no model at all,
and which questions need an image the model cannot see (`image_unseen`).

The methods, each one registered object (core.evaluation.methods: `evaluate` runs the registered runner):
- `categorical`, the default (core.evaluation.categorical): the valid letters' next-token probabilities
  in one batched forward pass, argmax; deterministic, each choice's probability kept.
- `generative` (core.evaluation.generative): greedy decoding, the answer extracted as the ScienceQA paper
  does; strict accuracy, and the paper's (a missing answer replaced by a seeded random valid choice).
- `plan` (core.evaluation.generative): the original plan's metric, reproduced only to show why it
  misleads: plain-text prompt with "A. choice" lines, the decoded output INCLUDING the prompt, correct if
  the gold letter is in the first 100 characters. Every result of it is marked invalid.
- `shuffled` (core.evaluation.method_shuffled): categorical with the options in a fixed seeded order.

    python -m core eval --model tiny --data sample --split test --method categorical --out results.json
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from core.data.prompts import DEFAULT_FORMAT, DEFAULT_SYSTEM_PROMPT, get_format, to_messages
from core.data.records import LETTERS, Question, content_hash
from core.errors import StudioError

PLAN_WARNING = ("INVALID METRIC (the plan's method): the decoded output includes the prompt, whose "
                "'A.'/'B.' lines put every answer letter within the first 100 characters, so nearly any "
                "model counts as correct. Shown only to explain why it misleads; use 'categorical'.")
Progress = Callable[[int, int], None]


@dataclass
class EvalSettings:
    batch_size: int = 16
    max_batch_tokens: int = 8192  # categorical: rows x padded width per forward pass (bounds memory and padding)
    max_new_tokens: int = 48  # generative: enough for "The answer is X." and the start of the why
    plan_max_new_tokens: int = 200  # as the plan generated
    seed: int = 0  # generative: the paper's random fallback choice
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    use_caption: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.max_new_tokens < 1 or self.plan_max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")


@dataclass
class Prediction:
    pid: str
    gold: int
    pred: int | None  # index of the chosen choice; None = no valid answer (generative)
    correct: bool
    n_choices: int
    groups: list[str]  # leaderboard columns the question counts in
    topic: str = ""
    subject: str = ""
    skill: str = ""
    image_unseen: bool = False  # the answer needs an image the model sees no useful caption of
    probs: list[float] | None = None  # categorical: probability of each choice
    output: str | None = None  # generative / plan: the decoded text
    fallback_pred: int | None = None  # generative: the paper's random valid choice when pred is None


@dataclass
class EvalResult:
    method: str
    fmt: str
    model: str
    predictions: list[Prediction]
    data_hash: str = ""
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    valid: bool = True
    warning: str = ""
    truncated: int = 0  # prompts longer than the model's context, cut from the left
    prompt_only_accuracy: float | None = None  # plan: the score of the prompt text alone, before any model

    @property
    def n(self) -> int:
        return len(self.predictions)

    @property
    def correct(self) -> int:
        return sum(p.correct for p in self.predictions)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def format_failures(self) -> int:
        return sum(p.pred is None for p in self.predictions)

    @property
    def fallback_accuracy(self) -> float:
        """The paper's accuracy: a missing answer replaced by a random valid choice."""
        ok = sum(p.correct or (p.pred is None and p.fallback_pred == p.gold) for p in self.predictions)
        return ok / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(n=self.n, correct=self.correct, accuracy=self.accuracy)
        if self.method == "generative":
            d.update(format_failures=self.format_failures, fallback_accuracy=self.fallback_accuracy)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EvalResult":
        keys = set(cls.__dataclass_fields__) - {"predictions"}
        preds = [Prediction(**p) for p in d["predictions"]]
        return cls(predictions=preds, **{k: d[k] for k in keys if k in d})


def evaluate(loaded, questions: list[Question], fmt: str = DEFAULT_FORMAT, method: str = "categorical",
             batch_size: int | None = None, progress: Progress | None = None,
             settings: EvalSettings | None = None) -> EvalResult:
    """Score `loaded` (a core.models.loading.LoadedModel) on `questions`; `progress(done, total)` after each batch."""
    import torch

    settings = settings or EvalSettings()
    if batch_size is not None:
        settings = EvalSettings(**{**asdict(settings), "batch_size": batch_size})
    from core.evaluation.methods import get_method

    spec = get_method(method)  # a ValueError names the methods there are
    get_format(fmt)
    _check_questions(questions)
    started = time.time()
    try:
        with torch.inference_mode():
            preds, truncated = spec.runner(loaded, questions, fmt, settings, progress or (lambda done, total: None))
    except torch.OutOfMemoryError as e:
        raise StudioError(f"Out of memory while evaluating {loaded.path} on {loaded.device}: lower the batch "
                          f"size (now {settings.batch_size}), pick a smaller model, or evaluate on another "
                          "device.") from e
    return EvalResult(method=method, fmt=fmt, model=str(loaded.path), predictions=preds,
                      data_hash=content_hash(questions), seconds=round(time.time() - started, 3),
                      settings=asdict(settings), valid=spec.valid, warning=spec.warning, truncated=truncated,
                      prompt_only_accuracy=plan_prompt_only_accuracy(questions) if method == "plan" else None)


def choice_probabilities(loaded, question: Question, fmt: str = DEFAULT_FORMAT,
                         settings: EvalSettings | None = None) -> list[float]:
    """The model's probability of each choice of one question (categorical scoring)."""
    return evaluate(loaded, [question], fmt, "categorical", settings=settings).predictions[0].probs


def prompt_text(tokenizer, question: Question, fmt: str, settings: EvalSettings) -> str:
    """The chat-template rendering up to where the assistant's answer starts (without the answer prefix)."""
    messages = to_messages(question, fmt, settings.system_prompt, with_answer=False,
                           use_caption=settings.use_caption)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def plan_prompt(question: Question) -> str:
    """The plan's plain-text prompt (no chat template)."""
    lines = [f"Question: {question.question}"]
    lines += [f"{letter}. {choice}" for letter, choice in zip(LETTERS, question.choices)]
    return "\n".join(lines + ["Answer:"])


def plan_prompt_only_accuracy(questions: list[Question]) -> float:
    """What the plan's metric gives with no model at all: the gold letter within the prompt's first 100
    characters (65% on the official test split, where chance is 40%)."""
    return sum(q.answer_letter in plan_prompt(q)[:100] for q in questions) / len(questions)


def _check_questions(questions: list[Question]) -> None:
    if not questions:
        raise StudioError("No questions to evaluate: the selection is empty. Pick another split or subset.")
    for q in questions:
        if len(q.choices) > len(LETTERS):
            raise StudioError(f"Question {q.pid} has {len(q.choices)} choices but only {len(LETTERS)} answer "
                              f"letters exist ({LETTERS}); drop it from the selection.")


# The question (or its hint) points at the picture; without a hint the picture is the only context anyway.
VISUAL_WORDS = re.compile(r"\b(map|highlighted|shown|picture|pictured|image|figure|diagram|look at|below|photo|table|"
                          r"graph|chart|column|row)\b", re.IGNORECASE)
_STOP = frozenset("this that with from which what these there their they have into onto about while than then each "
                  "other some more most over under near".split())


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP}


def image_unseen(q: Question) -> bool:
    """Whether the answer needs an image the model cannot see: an image question with no hint, or one whose
    question or hint points at the picture, whose caption names none of the choices (ScienceQA's captions
    describe a map as "a painting of an animal on top of a green field"). A heuristic, said as one: on the
    official test split it marks 1,630 of the 2,017 image questions."""
    if not q.has_image:
        return False
    needs = not q.hint.strip() or VISUAL_WORDS.search(f"{q.question} {q.hint}") is not None
    return needs and not (_content_words(q.caption) & _content_words(" ".join(q.choices)))


def to_prediction(q: Question, pred: int | None, **extra: Any) -> Prediction:
    """The record of question `q` answered with choice `pred` (None: no valid answer); `extra` per method."""
    return Prediction(pid=q.pid, gold=q.answer, pred=pred, correct=pred == q.answer, n_choices=len(q.choices),
                      groups=q.leaderboard_groups, topic=q.topic, subject=q.subject, skill=q.skill,
                      image_unseen=image_unseen(q), **extra)
