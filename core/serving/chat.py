"""The tutor's chat: a reply streamed token by token from a model, shared safely by many students.

- The prompt is the model's own chat template (`apply_chat_template(..., add_generation_prompt=True)`);
  only new tokens are decoded; generation stops at the family's end-of-turn token (the tokenizer's eos).
- History is trimmed to the context window: the oldest turns go first, the system prompt stays.
- One model per process (`get_model`, a small registry keyed by folder); replies are decoded together in
  one batch per model (`submit` -> core.serving.batching), bounded in rows and tokens, with the place in
  line reported to whoever waits, and one batch per device at a time (core.serving.turns).
- Per-session rate limit (`RateLimiter`), input length limit and control-character cleaning
  (`clean_input`), and a generation time limit (`ChatSettings.timeout`).

    python -m core chat --model tiny "Which is heavier, 3 kg or 5 kg?"
"""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.data.prompts import TUTOR_TEMPERATURE, TUTOR_TOP_P
from core.errors import StudioError
from core.models.families import stop_tokens, user_input_tokens
from core.serving.reply import ReplyStats

MAX_INPUT_CHARS = 4000
MAX_SYSTEM_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
WaitCallback = Callable[[int], None]
NOTICE = "⚠️ "  # starts every sentence the app (not the model) puts in a chat; left out of the model's history


@dataclass
class ChatSettings:
    temperature: float = TUTOR_TEMPERATURE  # 0 = greedy
    top_p: float = TUTOR_TOP_P
    max_new_tokens: int = 256
    repetition_penalty: float = 1.0  # > 1 discourages repeating tokens already in the prompt or reply
    timeout: float = 120.0  # seconds of generation before the reply is cut
    queue_timeout: float = 300.0  # seconds a request may wait for its turn on the device
    seed: int | None = None  # for sampling: the same seed gives the same reply (None: a fresh one each time)

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError("temperature must be between 0 (greedy) and 2")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError("top_p must be in (0, 1]")
        if not 1.0 <= self.repetition_penalty <= 2.0:
            raise ValueError("repetition_penalty must be between 1 (off) and 2")
        if not 1 <= self.max_new_tokens <= 4096:
            raise ValueError("max_new_tokens must be between 1 and 4096")
        if self.timeout <= 0 or self.queue_timeout <= 0:
            raise ValueError("timeouts must be positive")


# Sampling that suits a tutor, per model family, chosen by measurement (bench/tutor_bench.py --sweep: the
# share of open questions answered in sentences that end cleanly, README "Tutor").
SAMPLING = {
    "llama": dict(temperature=0.3, top_p=0.9, repetition_penalty=1.1, max_new_tokens=200),
}


def sampling_defaults(family: str | None) -> ChatSettings:
    """The chat settings a model family starts with (the app's defaults for families not measured)."""
    return ChatSettings(**SAMPLING.get(family or "", {}))


def reply_note(stats: ReplyStats) -> str:
    """The caption under a reply: speed, wait, how it ended, and turns left out to fit the context."""
    rate = stats.new_tokens / stats.seconds if stats.seconds else 0.0
    dropped = (f" · {stats.dropped_messages} oldest messages left out to fit the context"
               if stats.dropped_messages else "")
    return (f"{stats.new_tokens} tokens in {stats.seconds:.1f} s ({rate:.0f} tokens/s) · waited "
            f"{stats.waited:.1f} s · ended by {stats.stopped}{dropped}")


# ---- input -----------------------------------------------------------------------------------------

def clean_input(text: str, max_chars: int = MAX_INPUT_CHARS, what: str = "Your message") -> str:
    """Strip control characters and defuse special-token strings; refuse empty or over-long text."""
    text = _CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n")).strip()
    for tok in user_input_tokens():  # typed markers (of every family) must not become real turn boundaries
        text = text.replace(tok, f"{tok[0]} {tok[1:]}")
    if not text:
        raise StudioError(f"{what} is empty.")
    if len(text) > max_chars:
        raise StudioError(f"{what} is {len(text):,} characters long; the limit is {max_chars:,}. "
                          "Shorten it and ask again.")
    return text


def is_notice(text: str) -> bool:
    return str(text).startswith(NOTICE)


def without_notice(text: str) -> str:
    """A chat message with the app's leading notice paragraph left out (what the model sees as history)."""
    text = str(text)
    while text.startswith(NOTICE):
        text = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    return text


def build_messages(system_prompt: str | None, history: list[dict[str, str]], user_text: str) -> list[dict[str, str]]:
    """system + earlier turns + the new user turn (history holds only user/assistant turns)."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt and system_prompt.strip() else []
    messages += [{"role": m["role"], "content": without_notice(m["content"])} for m in history
                 if m.get("role") in ("user", "assistant") and without_notice(m.get("content", "")).strip()]
    return messages + [{"role": "user", "content": user_text}]


def prompt_ids(tokenizer, messages: list[dict[str, str]]) -> list[int]:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tokenizer.encode(text, add_special_tokens=False)


def fit_messages(tokenizer, messages: list[dict[str, str]], budget: int) -> tuple[list[int], int]:
    """Prompt ids within `budget` tokens, dropping the oldest turns (the system prompt stays).

    Returns (ids, number of messages dropped). The last user turn alone too long is a StudioError.
    """
    system = messages[:1] if messages and messages[0]["role"] == "system" else []
    turns = messages[len(system):]
    dropped = 0
    while True:
        ids = prompt_ids(tokenizer, system + turns)
        if len(ids) <= budget:
            return ids, dropped
        if len(turns) <= 1:
            raise StudioError(f"The message needs {len(ids):,} tokens but this model reads at most {budget:,} "
                              "(its context window minus the reply's room). Shorten it, shorten the system "
                              "prompt, or lower 'max new tokens'.")
        # Drop the oldest turn, and an assistant turn left at the front with it (turns start with a user).
        turns = turns[1:]
        dropped += 1
        while len(turns) > 1 and turns[0]["role"] != "user":
            turns = turns[1:]
            dropped += 1


# ---- one model per process -------------------------------------------------------------------------

_models: collections.OrderedDict[tuple[str, str], object] = collections.OrderedDict()
_models_lock = threading.Lock()
MAX_MODELS = 2


def get_model(folder: Path | str, device: str | None = None):
    """The LoadedModel of `folder`, loaded once per process and shared (never mutate it)."""
    from core.models.loading import load_model

    key = (str(Path(folder).resolve()), str(device))
    with _models_lock:  # loading under the lock: two sessions asking at once load it once
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
        loaded = load_model(Path(folder), device=device)
        _models[key] = loaded
        while len(_models) > MAX_MODELS:  # sessions still holding an evicted model keep it alive
            _models.popitem(last=False)
        return loaded


# ---- rate limiting ---------------------------------------------------------------------------------

class RateLimiter:
    """At most `max_requests` per `window` seconds per key (a session)."""

    def __init__(self, max_requests: int = 10, window: float = 60.0):
        if max_requests < 1 or window <= 0:
            raise ValueError("max_requests must be >= 1 and window > 0")
        self.max_requests, self.window = max_requests, window
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Record a request, or raise StudioError saying how long to wait."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, collections.deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.max_requests:
                wait = self.window - (now - hits[0])
                raise StudioError(f"Slow down: at most {self.max_requests} questions per "
                                  f"{self.window:.0f} s. Try again in {wait:.0f} s.")
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle sessions
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
                    del self._hits[k]


# ---- generation ------------------------------------------------------------------------------------

def stop_token_ids(tokenizer) -> list[int]:
    """The eos (the family's end of turn) ends a reply, and so does any family's token that would end
    the turn or start a new one, where this tokenizer has it."""
    ids = {tokenizer.eos_token_id}
    vocab = tokenizer.get_vocab()
    ids.update(vocab[tok] for tok in stop_tokens() if tok in vocab)
    return sorted(i for i in ids if i is not None)


def submit(loaded, messages: list[dict[str, str]], settings: ChatSettings | None = None, *,
           stats: ReplyStats | None = None, stop_ids: list[int] | None = None, prefix: str = ""):
    """Queue a reply to `messages` on the model's shared batch (core.serving.batching) and return the
    `Reply` at once: iterate it for text chunks, read `.place` while it waits, `.cancel()` from any thread.
    Thread-safe; each request keeps its own sampling, stop tokens (`stop_ids`, default the family's end of
    turn) and time limits. History that does not fit the context loses its oldest turns first. `prefix` is
    the start of the assistant's turn given to the model and not yielded (core.evaluation.grounding's
    chosen answer)."""
    from core.serving.batching import batcher_for

    settings = settings or ChatSettings()
    stats = stats if stats is not None else ReplyStats()
    lead = loaded.tokenizer.encode(prefix, add_special_tokens=False) if prefix else []
    ids, stats.dropped_messages = fit_messages(loaded.tokenizer, messages,
                                               loaded.context_length - settings.max_new_tokens - len(lead))
    return batcher_for(loaded).submit(ids + lead, settings, stop_ids or stop_token_ids(loaded.tokenizer), stats)


def stream_reply(loaded, messages: list[dict[str, str]], settings: ChatSettings | None = None, *,
                 on_wait: WaitCallback | None = None, stop: threading.Event | None = None,
                 stats: ReplyStats | None = None, prefix: str = "") -> Iterator[str]:
    """Yield the reply to `messages` as text deltas, as the model generates them (see `submit`; after
    `prefix`, the start of the assistant's turn given to the model and not yielded).

    `on_wait(n_ahead)` is called while the request waits for a place in the batch (and with 0 once it has
    one). Generation ends at the model's end-of-turn token, at `max_new_tokens`, at `settings.timeout`,
    when `stop` is set, or when the caller stops iterating (closing the generator ends the request within
    one decoding step; the generator returns once the batch has let it go).
    """
    stats = stats if stats is not None else ReplyStats()
    stop = stop or threading.Event()
    req = submit(loaded, messages, settings, stats=stats, prefix=prefix)
    try:
        if on_wait is not None:  # in the reader's own thread: a page may draw from the callback
            last = 0
            while req.started is None and not req.done and not stop.is_set():
                ahead = req.place
                if ahead != last:
                    on_wait(ahead)
                    last = ahead
                stop.wait(0.1)
            if last:
                on_wait(0)
        for text in req:
            if stop.is_set():
                break
            yield text
    finally:
        stop.set()
        req.cancel()  # no-op once it has ended; otherwise the reader left (stop button, closed page)
        req.wait()


def wait_text(ahead: int) -> str:
    """What a waiting student reads."""
    return f"Waiting for your turn: {ahead} request{'s' if ahead > 1 else ''} ahead of you…"


def reply(loaded, messages: list[dict[str, str]], settings: ChatSettings | None = None) -> str:
    """The whole reply as one string."""
    return "".join(stream_reply(loaded, messages, settings))


def example_questions(n: int = 3, fmt: str | None = None) -> list[tuple[str, str]]:
    """(short label, full user message) for a few sample test questions, one per topic, typed as a student
    would (the question, then its options: core.evaluation.grounding scores them in the model's own format);
    a format that teaches open questions (`fmt`; the app's default when None) adds one
    (assets/open_questions), asked as a student would."""
    import json

    from core.data.prompts import DEFAULT_FORMAT, get_format
    from core.data.records import LETTERS
    from core.data.sources import load_source
    from core.home import ASSETS

    picked, topics = [], set()
    for q in load_source("sample", "test"):
        if q.has_image or q.topic in topics:
            continue
        topics.add(q.topic)
        stem = f"{q.question} {q.hint.strip()}".strip()
        picked.append((q.question, f"{stem} " + " ".join(f"({l}) {c}" for l, c in zip(LETTERS, q.choices))))
        if len(picked) == n:
            break
    if get_format(fmt or DEFAULT_FORMAT).teaches:
        path = ASSETS / "open_questions" / "open_questions.jsonl"
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])["question"]
        picked.append((first, first))
    return picked
