"""One request's side of core.serving.batching: its `ReplyStats`, the `Reply` handle a caller iterates (text chunks, `place`,
`cancel`, `stats`, `wait`), the row state the decoding loop keeps for it, and its per-request sampling
(`pick_tokens`: greedy, or temperature + top-p with its own generator, and the repetition penalty).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

_DONE = object()


@dataclass
class ReplyStats:
    """Filled in while a reply streams (for the page's caption and the benchmark)."""
    waited: float = 0.0  # seconds in the device queue
    first_token: float | None = None  # seconds from the call to the first text
    seconds: float = 0.0  # generation time (after the wait)
    new_tokens: int = 0
    prompt_tokens: int = 0
    dropped_messages: int = 0  # oldest turns left out to fit the context window
    stopped: str = ""  # 'eos' | 'length' | 'timeout' | 'stopped'


@dataclass
class Row:
    """One request's state while it decodes (owned by the loop thread)."""
    reply: Reply
    seen: list[int]  # prompt + generated ids (for the repetition penalty)
    generated: int = 0
    generator: torch.Generator | None = None


class Reply:
    """A submitted request: iterate it for text chunks; `cancel()` from any thread; `place` while waiting."""

    def __init__(self, batcher, ids: list[int], settings, stop_ids: list[int], stats) -> None:
        self.ids, self.settings, self.stop_ids, self.stats = ids, settings, set(stop_ids), stats
        self._batcher = batcher
        self._tokens: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.error: BaseException | None = None

    @property
    def place(self) -> int:
        """How many requests are ahead of this one in line (0 once it is generating or done)."""
        return self._batcher.place(self)

    def cancel(self) -> None:
        self._cancel.set()
        self._batcher._wake.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def token_ids(self, poll: float = 0.25) -> Iterator[int]:
        """The generated ids as they come (the stop token excluded); raises what the loop hit."""
        while True:
            try:
                item = self._tokens.get(timeout=poll)
            except queue.Empty:
                continue
            if item is _DONE:
                if self.error is not None:
                    raise self.error
                return
            yield item

    def __iter__(self) -> Iterator[str]:
        tok = self._batcher.tokenizer
        out: list[int] = []
        shown = ""
        for i in self.token_ids():
            out.append(i)
            text = tok.decode(out, skip_special_tokens=True)
            if text.endswith("\ufffd"):  # half a character: wait for the rest of its bytes
                continue
            if len(text) > len(shown):
                delta, shown = text[len(shown):], text
                if self.stats.first_token is None:
                    self.stats.first_token = time.monotonic() - self.submitted
                yield delta
        text = tok.decode(out, skip_special_tokens=True)
        if len(text) > len(shown):  # what was held back at the very end
            if self.stats.first_token is None:
                self.stats.first_token = time.monotonic() - self.submitted
            yield text[len(shown):]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the loop is done with this request (after `cancel`: within one step)."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _finish(self, stopped: str, error: BaseException | None = None) -> None:
        self.stats.stopped = self.stats.stopped or stopped
        self.stats.seconds = time.monotonic() - (self.started or time.monotonic())
        self.error = error
        self._tokens.put(_DONE)
        self._done.set()


def pick_tokens(logits: torch.Tensor, rows: list[Row]) -> list[int]:
    """The next token of each row under its own sampling settings."""
    logits = logits.float()
    picked = []
    for i, row in enumerate(rows):
        s, scores = row.reply.settings, logits[i]
        if s.repetition_penalty != 1.0:
            seen = torch.tensor(sorted(set(row.seen)), device=scores.device)
            vals = scores[seen]
            scores = scores.clone()
            scores[seen] = torch.where(vals < 0, vals * s.repetition_penalty, vals / s.repetition_penalty)
        if s.temperature <= 0:
            picked.append(int(scores.argmax()))
            continue
        probs = torch.softmax(scores / s.temperature, dim=-1)
        if s.top_p < 1.0:
            sorted_p, order = probs.sort(descending=True)
            keep = sorted_p.cumsum(0) - sorted_p < s.top_p  # the smallest set reaching top_p (first always)
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
        picked.append(int(torch.multinomial(probs.cpu(), 1, generator=row.generator)))
    return picked

