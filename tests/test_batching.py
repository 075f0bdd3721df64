"""core.serving.batching: replies decoded together equal replies decoded one at a time (greedy, token for
token, on a tiny model of each family, prompts of different lengths), whatever joins, stops early, times
out or is cancelled beside them; the queue's bounds and place; per-request sampling."""

from __future__ import annotations

import time

import pytest
import torch

from core.errors import StudioError
from core.models.loading import load_model
from core.serving.batching import Batcher
from core.serving.chat import ChatSettings

NO_STOP = [-1]  # no token ends these replies early: every row decodes its whole max_new_tokens
PROMPTS = ["Which is heavier, 3 kg or 5 kg?", "Hi", "What unit measures mass? Answer with the unit and a short "
           "reason a grade 3 student can read, please.", "Is a kilogram more than a gram?"]


@pytest.fixture(scope="module")
def nanochat(_tiny_model_master):
    return load_model(_tiny_model_master, device="cpu", dtype=torch.float32)


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    from test_families import build_tiny_llama

    return load_model(build_tiny_llama(tmp_path_factory.mktemp("llama") / "hf"), device="cpu", dtype=torch.float32)


def prompt(loaded, text: str) -> list[int]:
    return loaded.tokenizer.encode(text, add_special_tokens=False)


def one_at_a_time(loaded, ids: list[int], n: int) -> list[int]:
    """transformers' own greedy generate, one prompt alone (the reference)."""
    out = loaded.model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                max_new_tokens=n, min_new_tokens=n, do_sample=False, eos_token_id=None,
                                pad_token_id=0)
    return out[0, len(ids):].tolist()


def collect(reply) -> list[int]:
    return list(reply.token_ids())


def greedy(n: int, **kw) -> ChatSettings:
    return ChatSettings(temperature=0.0, max_new_tokens=n, **kw)


@pytest.mark.parametrize("family", ["nanochat", "llama"])
def test_batched_greedy_equals_one_at_a_time_with_a_request_joining_mid_batch(family, request):
    loaded = request.getfixturevalue(family)
    ids = [prompt(loaded, p) for p in PROMPTS]
    assert len({len(i) for i in ids}) == len(ids)  # different lengths: the batch is left-padded
    b = Batcher(loaded, max_batch=8)
    first = [b.submit(i, greedy(16), NO_STOP) for i in ids[:2]]
    early = first[0].token_ids()
    got0 = [next(early) for _ in range(4)]  # the batch is decoding...
    rows, _ = b.in_flight()
    assert rows >= 1 and not first[0].done
    later = [b.submit(i, greedy(16), NO_STOP) for i in ids[2:]]  # ...when these join it
    results = [got0 + list(early)] + [collect(r) for r in first[1:] + later]
    for i, got in zip(ids, results):
        assert got == one_at_a_time(loaded, i, 16)
    assert all(r.stats.stopped == "length" and r.stats.new_tokens == 16 for r in first + later)


@pytest.mark.parametrize("family", ["nanochat", "llama"])
def test_requests_that_arrive_together_are_read_in_together_and_answer_alike(family, request):
    from core.serving.turns import device_queue

    loaded = request.getfixturevalue(family)
    ids = [prompt(loaded, p) for p in PROMPTS]
    b = Batcher(loaded, max_batch=8)
    calls = []
    hook = loaded.model.register_forward_pre_hook(lambda _m, args, kw: calls.append(kw["input_ids"].shape),
                                                  with_kwargs=True)
    q = device_queue(loaded.device)
    ticket = q.enter()  # the device is busy: all four wait, then are prefilled in one left-padded pass
    try:
        replies = [b.submit(i, greedy(12), NO_STOP) for i in ids]
        time.sleep(0.3)
        assert [r.place for r in replies] == [1, 2, 3, 4] and not calls
    finally:
        q.leave(ticket)
    try:
        results = [collect(r) for r in replies]
    finally:
        hook.remove()
    assert tuple(calls[0]) == (4, max(len(i) for i in ids))
    for i, got in zip(ids, results):
        assert got == one_at_a_time(loaded, i, 12)


def test_rows_that_stop_early_time_out_or_are_cancelled_leave_the_others_unchanged(nanochat):
    ids = [prompt(nanochat, p) for p in PROMPTS]
    refs = [one_at_a_time(nanochat, i, 20) for i in ids]
    b = Batcher(nanochat, max_batch=8)
    long_one = b.submit(ids[0], greedy(20), NO_STOP)
    short = b.submit(ids[1], greedy(3), NO_STOP)  # leaves after 3 tokens
    by_stop = b.submit(ids[2], greedy(20), [refs[2][5]])  # its own stop token: ends at the 6th token
    cancelled = b.submit(ids[3], greedy(20), NO_STOP)
    stream = cancelled.token_ids()
    next(stream)
    cancelled.cancel()  # the student closed the tab
    rest = list(stream)
    timed = b.submit(ids[3], greedy(20, timeout=1e-6), NO_STOP)
    assert collect(long_one) == refs[0]
    assert collect(short) == refs[1][:3] and short.stats.stopped == "length"
    assert collect(by_stop) == refs[2][:5] and by_stop.stats.stopped == "eos"
    assert cancelled.stats.stopped == "stopped" and 1 + len(rest) < 20
    assert rest == refs[3][1:1 + len(rest)]
    assert timed.stats.stopped == "timeout" and len(collect(timed)) < 20


def test_the_batch_is_bounded_and_a_waiting_request_sees_its_place(nanochat):
    ids = prompt(nanochat, PROMPTS[0])
    b = Batcher(nanochat, max_batch=1, max_tokens=len(ids) + 200, max_waiting=2)
    with pytest.raises(StudioError, match="at most"):
        b.submit(ids, greedy(201), NO_STOP)  # alone it would never fit
    running = b.submit(ids, greedy(200), NO_STOP)
    while b.in_flight()[0] == 0:  # until its prefill is done and it is a row of the batch
        time.sleep(0.01)
    second, third = b.submit(ids, greedy(4), NO_STOP), b.submit(ids, greedy(4), NO_STOP)
    assert (running.place, second.place, third.place) == (0, 1, 2)
    with pytest.raises(StudioError, match="busy"):
        b.submit(ids, greedy(4), NO_STOP)
    assert b.in_flight() == (1, 2)
    running.cancel()
    assert collect(second) == collect(third) == one_at_a_time(nanochat, ids, 4)
    assert second.stats.waited > 0 and running.stats.stopped == "stopped"


def test_a_request_that_waits_too_long_is_told_so_in_one_sentence(nanochat):
    ids = prompt(nanochat, PROMPTS[1])
    b = Batcher(nanochat, max_batch=1)
    running = b.submit(ids, greedy(200), NO_STOP)
    late = b.submit(ids, greedy(4, queue_timeout=0.05), NO_STOP)
    with pytest.raises(StudioError, match="Waited"):
        collect(late)
    running.cancel()
    running.wait(60)


def test_each_request_keeps_its_own_sampling(nanochat):
    ids = [prompt(nanochat, p) for p in PROMPTS[:2]]
    b = Batcher(nanochat, max_batch=8)
    sampled = ChatSettings(temperature=1.0, top_p=0.9, max_new_tokens=12, seed=7)
    a = b.submit(ids[0], sampled, NO_STOP)
    g = b.submit(ids[1], greedy(12), NO_STOP)
    again = b.submit(ids[0], sampled, NO_STOP)
    penalised = b.submit(ids[1], greedy(12, repetition_penalty=2.0), NO_STOP)
    assert collect(g) == one_at_a_time(nanochat, ids[1], 12)  # a sampled neighbour changes nothing
    assert collect(a) == collect(again)  # the same seed, the same reply
    assert len(collect(penalised)) == 12


def test_the_tutor_waits_while_a_job_holds_the_device_lease(nanochat):
    from core.jobs.device import device_lease

    ids = prompt(nanochat, PROMPTS[0])
    b = Batcher(nanochat)
    with device_lease("training 20261206-0456"):  # as a training job in another process would
        reply = b.submit(ids, greedy(4), NO_STOP)
        time.sleep(0.5)
        assert reply.started is None and reply.place == 1
    assert collect(reply) == one_at_a_time(nanochat, ids, 4)


def test_a_turn_behind_a_reply_that_waits_for_a_job_names_the_job():
    import threading

    from core.jobs.device import device_lease
    from core.serving.turns import device_queue, device_turn

    taken, release = threading.Event(), threading.Event()

    def training():
        with device_lease("training r9"):
            taken.set()
            release.wait(30)

    t = threading.Thread(target=training)
    t.start()
    line = device_queue("test-device")
    ahead = line.enter()  # a chat reply took its place in this process's line and now waits for the lease
    try:
        taken.wait(10)
        with pytest.raises(StudioError, match=r"busy \(training r9\)"), device_turn("test-device", "Compare", wait=0.5):
            pass
    finally:
        line.leave(ahead)
        release.set()
        t.join()
    with device_turn("test-device", "Compare", wait=5):  # free again
        pass
