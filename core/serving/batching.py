"""Continuous batching: many replies decoded together on one device, each streamed to its own reader.

The contract (the Tutor page, the class link, `python -m core chat`, and anything built on top rely on it):

    reply = batcher_for(loaded).submit(prompt_ids, settings)      # thread-safe, returns at once
    reply.place            # > 0 while waiting: how many requests are ahead of it; 0 once generating
    for text in reply:     # text chunks, as they are decoded (skip_special_tokens, whole characters)
        ...
    reply.cancel()         # any thread; the row leaves the batch at the next step (closing the tab)
    reply.stats            # ReplyStats: waited, first_token, seconds, new_tokens, prompt_tokens, stopped

Each request keeps its own sampling (temperature, 0 = greedy; top-p; repetition penalty), its own stop
token ids, its own `max_new_tokens` and time limits (`timeout` for generating, `queue_timeout` for waiting).
A request that arrives while others decode is prefilled alone and joins the running batch at the next
step (its KV cache left-padded to the batch's length); a finished one leaves at once. Memory is bounded:
at most `max_batch` rows and `max_tokens` tokens (prompt + room for the reply) in flight; beyond that a
request waits in line (first come, first served) with its place shown, and beyond `max_waiting` it is
refused in one sentence. Greedy batched output equals one-at-a-time greedy output token for token
(tests/test_batching.py), so batching changes speed, not answers.

Why not transformers' own ContinuousBatchingManager (`generate_batch`): it runs on CPU for both families
here, but greedy vs sampling and the repetition penalty are fixed for the whole manager (only temperature,
top-k and top-p are per request), which a shared tutor with per-student settings cannot use.

The device is taken through one function, `device_turn` (core.serving.turns): the app's device lease
(core.jobs.device, shared with training and evaluation jobs in other processes) plus this process's
DeviceQueue; the loop holds it while any row is decoding and lets it go when the batch empties.
"""

from __future__ import annotations

import collections
import os
import threading
import time

import torch

from core.errors import StudioError
from core.serving.reply import Reply, ReplyStats, Row, pick_tokens
from core.serving.turns import device_turn

MAX_BATCH = int(os.environ.get("SQA_MAX_BATCH", "32"))
MAX_TOKENS = int(os.environ.get("SQA_MAX_TOKENS_IN_FLIGHT", "16384"))
MAX_WAITING = 200


class Batcher:
    """One decoding loop per loaded model: a thread that runs while requests are waiting or decoding."""

    def __init__(self, loaded, max_batch: int = MAX_BATCH, max_tokens: int = MAX_TOKENS,
                 max_waiting: int = MAX_WAITING) -> None:
        if max_batch < 1 or max_tokens < 1:
            raise ValueError("max_batch and max_tokens must be at least 1")
        self.loaded, self.tokenizer = loaded, loaded.tokenizer
        self.max_batch, self.max_tokens, self.max_waiting = max_batch, max_tokens, max_waiting
        self._lock = threading.Lock()
        self._waiting: collections.deque[Reply] = collections.deque()
        self._rows: list[Row] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._cache = None
        self._mask: torch.Tensor | None = None  # [rows, columns]: 1 for real tokens, 0 for left padding
        self._last: torch.Tensor | None = None  # [rows]: the token each row feeds next
        self._ended: list[tuple[Reply, str, BaseException | None]] = []  # finished, told after the step

    # ---- the caller's side ---------------------------------------------------------------------------

    def submit(self, ids: list[int], settings, stop_ids: list[int], stats=None) -> Reply:
        """Queue a prompt (token ids); returns at once. Refused in one sentence when the line is full or
        the request alone could never fit the bounds."""
        if not ids:
            raise StudioError("The prompt is empty.")
        need = len(ids) + settings.max_new_tokens
        if need > self.max_tokens:
            raise StudioError(f"This request needs {need:,} tokens but the tutor holds at most {self.max_tokens:,} "
                              "at once; shorten the conversation or lower 'max new tokens'.")
        reply = Reply(self, list(ids), settings, stop_ids, stats if stats is not None else ReplyStats())
        reply.stats.prompt_tokens = len(ids)
        with self._lock:
            if len(self._waiting) >= self.max_waiting:
                raise StudioError("The tutor is very busy right now; try again in a minute.")
            self._waiting.append(reply)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name="tutor-batch")
                self._thread.start()
        self._wake.set()
        return reply

    def place(self, reply: Reply) -> int:
        with self._lock:
            try:
                return self._waiting.index(reply) + 1
            except ValueError:
                return 0

    def in_flight(self) -> tuple[int, int]:
        """(rows decoding, requests waiting)."""
        with self._lock:
            return len(self._rows), len(self._waiting)

    # ---- the loop ------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            try:
                with device_turn(self.loaded.device), torch.inference_mode():
                    while True:
                        self._admit()
                        if self._rows:
                            self._step()
                        elif self._waiting:
                            self._wake.wait(0.05)
                            self._wake.clear()
                        with self._lock:
                            if not self._rows and not self._waiting:
                                break
                        self._flush()
            except BaseException as e:  # noqa: BLE001 - every reader hears it; the loop ends cleanly
                self._fail_all(e)
            self._flush()  # the last replies end after the device is free: their readers may rely on it
            with self._lock:
                if not self._waiting and not self._rows:
                    self._thread = None
                    return

    def _flush(self) -> None:
        ended, self._ended = self._ended, []
        for r, why, error in ended:
            r._finish(why, error)

    def _fail_all(self, error: BaseException) -> None:
        if isinstance(error, torch.OutOfMemoryError):
            error = StudioError(f"Out of memory while generating with {self.loaded.path}; pick a smaller model "
                                "or lower 'max new tokens'.")
        with self._lock:
            rows, waiting = self._rows, list(self._waiting)
            self._rows, self._waiting = [], collections.deque()
        self._cache = self._mask = self._last = None
        self._ended += [(r, "error", error) for r in [row.reply for row in rows] + waiting]

    def _tokens_in_flight(self) -> int:
        return sum(len(r.reply.ids) + r.reply.settings.max_new_tokens for r in self._rows)

    def _admit(self) -> None:
        """Expire or drop waiting requests, then prefill together those that fit and join them to the batch."""
        now = time.monotonic()
        with self._lock:
            for r in [r for r in self._waiting if r.cancelled or now - r.submitted > r.settings.queue_timeout]:
                self._waiting.remove(r)
                self._ended.append((r, "stopped", None) if r.cancelled else (r, "error", StudioError(
                    f"Waited {r.settings.queue_timeout:.0f} s for a turn; try again in a minute.")))
            joining: list[Reply] = []
            held = self._tokens_in_flight()
            while self._waiting and len(self._rows) + len(joining) < self.max_batch:
                nxt = self._waiting[0]
                need = len(nxt.ids) + nxt.settings.max_new_tokens
                if (self._rows or joining) and held + need > self.max_tokens:
                    break
                joining.append(self._waiting.popleft())
                held += need
        if joining:
            self._join(joining)

    def _join(self, replies: list[Reply]) -> None:
        """Prefill the new requests in one left-padded forward pass and add them to the batch."""
        from transformers import DynamicCache

        now = time.monotonic()
        rows = []
        for reply in replies:
            reply.started = now
            reply.stats.waited = now - reply.submitted
            s, gen = reply.settings, None
            if s.temperature > 0:
                gen = torch.Generator(device="cpu")
                gen.manual_seed(s.seed if s.seed is not None else int.from_bytes(os.urandom(6), "big"))
            rows.append(Row(reply, list(reply.ids), generator=gen))
        dev = self.loaded.device
        width = max(len(r.ids) for r in replies)
        ids = torch.tensor([[0] * (width - len(r.ids)) + r.ids for r in replies], device=dev)
        mask = torch.tensor([[0] * (width - len(r.ids)) + [1] * len(r.ids) for r in replies], device=dev)
        cache = DynamicCache(config=self.loaded.model.config)
        kwargs = {}
        if len(replies) > 1:  # alone, exactly the one-at-a-time call
            kwargs = dict(attention_mask=mask, position_ids=(mask.cumsum(1) - 1).clamp(min=0))
        out = self.loaded.model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1, **kwargs)
        firsts = pick_tokens(out.logits[:, -1, :], rows)
        if not self._rows:
            self._cache, self._mask, self._last = cache, mask, torch.tensor(firsts, device=dev)
        else:
            self._merge(cache, mask, firsts)
        with self._lock:
            self._rows.extend(rows)
        self._emit(firsts)

    def _merge(self, cache, mask: torch.Tensor, firsts: list[int]) -> None:
        """Append prefilled rows to the batch, left-padding whichever side is shorter."""
        old_len, new_len = self._mask.shape[1], mask.shape[1]
        width = max(old_len, new_len)

        def left_pad(t: torch.Tensor, n: int, dim: int) -> torch.Tensor:
            if n == 0:
                return t
            shape = list(t.shape)
            shape[dim] = n
            return torch.cat([t.new_zeros(shape), t], dim=dim)

        for a, b in zip(self._cache.layers, cache.layers, strict=True):
            a.keys = torch.cat([left_pad(a.keys, width - old_len, 2), left_pad(b.keys, width - new_len, 2)], 0)
            a.values = torch.cat([left_pad(a.values, width - old_len, 2), left_pad(b.values, width - new_len, 2)], 0)
        self._mask = torch.cat([left_pad(self._mask, width - old_len, 1), left_pad(mask, width - new_len, 1)], 0)
        self._last = torch.cat([self._last, torch.tensor(firsts, device=self._last.device)])

    def _step(self) -> None:
        """One decoding step for every row, then drop the rows that ended."""
        mask = torch.cat([self._mask, self._mask.new_ones(self._mask.shape[0], 1)], dim=1)
        positions = (mask.sum(dim=1, keepdim=True) - 1)
        out = self.loaded.model(input_ids=self._last[:, None], attention_mask=mask, position_ids=positions,
                                cache=self._cache, use_cache=True)
        self._mask = mask
        picked = pick_tokens(out.logits[:, -1, :], self._rows)
        self._last = torch.tensor(picked, device=self._last.device)
        self._emit(picked)

    def _emit(self, picked: list[int]) -> None:
        """Hand each row its new token; finish rows at a stop token, max_new_tokens, time limit or cancel."""
        now = time.monotonic()
        keep: list[int] = []
        ended: list[tuple[Reply, str]] = []
        rows = self._rows if len(picked) == len(self._rows) else self._rows[-len(picked):]
        offset = len(self._rows) - len(rows)
        for j, (row, tok_id) in enumerate(zip(rows, picked)):
            r, s = row.reply, row.reply.settings
            row.generated += 1
            r.stats.new_tokens = row.generated
            why = ""
            if r.cancelled:
                why = "stopped"
            elif tok_id in r.stop_ids:
                why = "eos"
            else:
                r._tokens.put(tok_id)
                row.seen.append(tok_id)
                if row.generated >= s.max_new_tokens:
                    why = "length"
                elif now - (r.started or now) > s.timeout:
                    why = "timeout"
            if why:
                ended.append((r, why))
            else:
                keep.append(offset + j)
        keep = list(range(offset)) + keep
        if ended:
            self._drop(keep)
        self._ended += [(r, why, None) for r, why in ended]

    def _drop(self, keep: list[int]) -> None:
        with self._lock:
            self._rows = [self._rows[i] for i in keep]
        if not keep:
            self._cache = self._mask = self._last = None
            return
        idx = torch.tensor(keep, device=self._mask.device)
        self._mask, self._last = self._mask[idx], self._last[idx]
        trim = int((self._mask.sum(dim=0) == 0).long().cumprod(0).sum())  # columns that are padding in every row
        self._mask = self._mask[:, trim:]
        for layer in self._cache.layers:
            layer.keys, layer.values = layer.keys[idx, :, trim:], layer.values[idx, :, trim:]


_batchers: dict[int, Batcher] = {}
_batchers_lock = threading.Lock()
MAX_BATCHERS = 4  # idle batchers beyond this are forgotten (each holds its model)


def batcher_for(loaded) -> Batcher:
    """The process-wide batcher of a loaded model (one decoding loop per model)."""
    with _batchers_lock:
        b = _batchers.get(id(loaded.model))
        if b is None or b.loaded.model is not loaded.model:
            b = _batchers[id(loaded.model)] = Batcher(loaded)
        for key in [k for k, o in _batchers.items() if o is not b and o.in_flight() == (0, 0)]:
            if len(_batchers) <= MAX_BATCHERS:
                break
            del _batchers[key]  # an evicted model is not kept alive by its idle batcher
        return b
