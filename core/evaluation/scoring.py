"""Score a model on ScienceQA questions: categorical (the default), generative, or the plan's method.

- `categorical`: the prompt ends where the answer starts (chat template with the generation prompt +
  the format's answer prefix); one batched forward pass reads the next-token log-probabilities of the
  valid letters only and takes the argmax, as nanochat's chat_eval scores multiple choice.
  Deterministic; each choice's probability (softmax over the valid letters) is kept. A letter the
  tokenizer splits into several tokens (" C" -> " ", "C") is scored by its whole token sequence, still
  in one pass (the row carries the shared path " ", and every letter reads its tokens' log-probs).
- `generative`: greedy decoding, the answer extracted as the ScienceQA paper does
  (`The answer is ([A-Z]).`, exactly one match); strict accuracy counts a missing answer as wrong,
  the paper's accuracy replaces it by a random valid choice (seeded per question).
- `plan`: the original plan's metric, reproduced only to show why it misleads: plain-text prompt with
  "A. choice" lines, `decode(outputs[0])` INCLUDING the prompt, correct if the gold letter is in the
  first 100 characters. Every result of it is marked invalid.
- `shuffled` (core.evaluation.method_shuffled): categorical with the options in a fixed seeded order.
Each method is one registered object (core.evaluation.methods): `evaluate` runs the registered runner.

    python -m core eval --model tiny --data sample --split test --method categorical --out results.json
"""

from __future__ import annotations

import math
import random
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
PAPER_PATTERN = re.compile(r"The answer is ([A-Z]).")  # ScienceQA models/run_gpt3.py, verbatim
PAREN_PATTERN = re.compile(r"The answer is \(([A-Z])\)")  # the parenthesised form (MM-CoT)
LETTER_ONLY = re.compile(r"^\s*\(?([A-Z])\)?\.?\s*$")  # a reply that is just the letter (nanochat format)
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


def extract_answer(text: str) -> str | None:
    """The answer letter of a generated reply, as the ScienceQA paper extracts it; None if there is none.

    The paper's rule first (exactly one `The answer is X.`); then the parenthesised `The answer is (X)`;
    then a reply that is only a letter (the nanochat format's answer).
    """
    for pattern in (PAPER_PATTERN, PAREN_PATTERN):
        found = pattern.findall(text)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None  # the paper counts an ambiguous reply as FAILED
    m = LETTER_ONLY.match(text)
    return m.group(1) if m else None


def parse_prediction(text: str, n_choices: int) -> int | None:
    """The index of the choice a reply gives, or None when it gives no valid letter for this question."""
    letter = extract_answer(text)
    return LETTERS.index(letter) if letter and letter in LETTERS[:n_choices] else None


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


def _prediction(q: Question, pred: int | None, **extra: Any) -> Prediction:
    return Prediction(pid=q.pid, gold=q.answer, pred=pred, correct=pred == q.answer, n_choices=len(q.choices),
                      groups=q.leaderboard_groups, topic=q.topic, subject=q.subject, skill=q.skill,
                      image_unseen=image_unseen(q), **extra)


# ---- categorical -----------------------------------------------------------------------------------

@dataclass
class _Row:
    ids: list[int]  # prompt tokens + the shared path of multi-token letters
    reads: list[list[tuple[int, int]]]  # per letter: (position whose logits predict it, token id)


def letter_rows(tokenizer, prompts: list[str], n_choices: list[int], prefix: str) -> list[_Row]:
    """Token rows for categorical scoring: encode prompt+prefix+letter for every valid letter and split
    at the common prefix, so a letter merged with the space (" A") is handled like a bare one."""
    texts = [p + prefix + letter for p, n in zip(prompts, n_choices) for letter in LETTERS[:n]]
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    rows, i = [], 0
    for n in n_choices:
        rows.append(_letter_row(encoded[i:i + n], prefix))
        i += n
    return rows


def _letter_row(encs: list[list[int]], prefix: str) -> _Row:
    common = 0
    while all(len(e) > common for e in encs) and len({e[common] for e in encs}) == 1:
        common += 1
    tails = [e[common:] for e in encs]
    if common == 0 or any(not t for t in tails) or len({tuple(t) for t in tails}) < len(tails):
        raise StudioError(f"This tokenizer cannot tell the answer letters apart after {prefix!r}: "
                          f"{LETTERS[:len(encs)]} encode to {tails}. Use the generative method instead.")
    path = max((t[:-1] for t in tails), key=len)  # the longest shared context any letter needs
    if not all(path[:len(t) - 1] == t[:-1] for t in tails):
        # Letters need different contexts: fall back to their first token if that tells them apart.
        if len({t[0] for t in tails}) < len(tails):
            raise StudioError("This tokenizer splits the answer letters into several tokens that start alike "
                              f"({tails}); categorical scoring needs them distinct. Use the generative method.")
        tails, path = [t[:1] for t in tails], []
    reads = [[(common - 1 + j, tok) for j, tok in enumerate(t)] for t in tails]
    return _Row(ids=encs[0][:common] + path, reads=reads)


def run_categorical(loaded, questions, fmt, settings, progress):
    import torch

    tok, model = loaded.tokenizer, loaded.model
    prefix = get_format(fmt).answer_prefix
    rows: list[_Row] = []
    for i in range(0, len(questions), 256):  # tokenize in chunks (the fast tokenizer batches in Rust)
        chunk = questions[i:i + 256]
        rows += letter_rows(tok, [prompt_text(tok, q, fmt, settings) for q in chunk],
                            [len(q.choices) for q in chunk], prefix)
    ctx, truncated = loaded.context_length, 0
    for row in rows:
        cut = len(row.ids) - ctx
        if cut > 0:  # keep BOS, drop the oldest tokens after it
            truncated += 1
            row.ids = row.ids[:1] + row.ids[1 + cut:]
            row.reads = [[(pos - cut, t) for pos, t in r] for r in row.reads]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    probs: dict[int, list[float]] = {}
    done = 0
    for batch in _token_batches([len(r.ids) for r in rows], settings.batch_size, settings.max_batch_tokens):
        width = max(len(rows[i].ids) for i in batch)
        # Right padding: causal attention never looks ahead, so pads cannot change the kept positions.
        ids = torch.tensor([rows[i].ids + [pad] * (width - len(rows[i].ids)) for i in batch])
        positions = [sorted({p for r in rows[i].reads for p, _ in r}) for i in batch]
        keep = max(len(p) for p in positions)
        keep_t = torch.tensor([p + [p[-1]] * (keep - len(p)) for p in positions])  # (B, K)
        out = model(input_ids=ids.to(loaded.device), logits_to_keep=keep_t.to(loaded.device), use_cache=False)
        logprobs = torch.log_softmax(out.logits.float(), dim=-1).cpu()  # (B, K, V)
        for b, i in enumerate(batch):
            slot = {p: k for k, p in enumerate(positions[b])}
            scores = [sum(logprobs[b, slot[p], t].item() for p, t in r) for r in rows[i].reads]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            probs[i] = [w / sum(weights) for w in weights]
        done += len(batch)
        progress(done, len(rows))
    preds = []
    for i, q in enumerate(questions):
        p = probs[i]
        preds.append(_prediction(q, max(range(len(p)), key=p.__getitem__), probs=p))
    return preds, truncated


def _token_batches(lengths: list[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped by length (shortest first) so that rows x longest length <= max_tokens."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for i in order:
        # lengths ascend, so the newcomer is the batch's longest row
        if batches and len(batches[-1]) < max_rows and (len(batches[-1]) + 1) * lengths[i] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


# ---- generative and the plan's method ---------------------------------------------------------------

def generate_texts(loaded, prompts: list[list[int]], max_new_tokens: int, batch_size: int,
                   progress: Progress, skip_prompt: bool = True) -> list[str]:
    """Greedy continuations of token-id prompts, batched with left padding."""
    import torch

    tok, model = loaded.tokenizer, loaded.model
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    texts: list[str] = [""] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        width = max(len(prompts[i]) for i in batch)
        ids = torch.tensor([[pad] * (width - len(prompts[i])) + prompts[i] for i in batch])
        mask = torch.tensor([[0] * (width - len(prompts[i])) + [1] * len(prompts[i]) for i in batch])
        out = model.generate(input_ids=ids.to(loaded.device), attention_mask=mask.to(loaded.device),
                             max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                             eos_token_id=tok.eos_token_id)
        for b, i in enumerate(batch):
            # The plan decodes the whole of outputs[0], prompt included (pads are special tokens, skipped).
            seq = out[b, width:] if skip_prompt else out[b]
            texts[i] = tok.decode(seq, skip_special_tokens=True)
        progress(min(start + batch_size, len(order)), len(order))
    return texts


def run_generative(loaded, questions, fmt, settings, progress):
    tok = loaded.tokenizer
    prompts = [tok.encode(prompt_text(tok, q, fmt, settings), add_special_tokens=False) for q in questions]
    prompts, truncated = _fit(prompts, loaded.context_length - settings.max_new_tokens)
    texts = generate_texts(loaded, prompts, settings.max_new_tokens, settings.batch_size, progress)
    preds = []
    for q, text in zip(questions, texts):
        pred = parse_prediction(text, len(q.choices))
        fallback = None
        if pred is None:  # the paper's rule: a random valid choice (seeded per question, order-independent)
            fallback = random.Random(f"{settings.seed}:{q.pid}").randrange(len(q.choices))
        preds.append(_prediction(q, pred, output=text, fallback_pred=fallback))
    return preds, truncated


def run_plan(loaded, questions, fmt, settings, progress):
    tok = loaded.tokenizer
    prompts = [tok(plan_prompt(q))["input_ids"] for q in questions]
    prompts, truncated = _fit(prompts, loaded.context_length - settings.plan_max_new_tokens)
    # Batch 1 and the whole of outputs[0], as the plan did.
    texts = generate_texts(loaded, prompts, settings.plan_max_new_tokens, 1, progress, skip_prompt=False)
    preds = []
    for q, text in zip(questions, texts):
        correct = q.answer_letter in text[:100]
        preds.append(_prediction(q, q.answer if correct else None, output=text))
    return preds, truncated


def _fit(prompts: list[list[int]], room: int) -> tuple[list[list[int]], int]:
    """Cut prompts longer than `room` tokens from the left (keeping the first token, usually BOS)."""
    room = max(room, 2)
    cut = [p if len(p) <= room else p[:1] + p[len(p) - room + 1:] for p in prompts]
    return cut, sum(len(p) > room for p in prompts)

