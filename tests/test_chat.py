"""core.serving.chat: the chat template prompt, new-token decoding, stopping, history trimming, input cleaning,
the shared device queue, rate limits, and the chat command. Models are the xs tiny preset; where a
test needs known output, a forward hook on the LM head scripts the next token (real `generate`)."""

from __future__ import annotations

import threading

import pytest
import torch

from core.__main__ import main
from core.errors import StudioError
from core.models.families.nanochat.template import ASSISTANT_START
from core.serving.chat import (
    ChatSettings,
    RateLimiter,
    ReplyStats,
    build_messages,
    clean_input,
    fit_messages,
    get_model,
    prompt_ids,
    reply,
    stream_reply,
)
from core.serving.turns import DeviceQueue, device_queue

GREEDY = ChatSettings(temperature=0.0, max_new_tokens=24)


def script(loaded, text: str, then: str = " and then more"):
    """Make the model answer `text`, then <|assistant_end|>, then `then` (which must never show)."""
    tok = loaded.tokenizer
    ids = tok.encode(text, add_special_tokens=False) + [tok.eos_token_id] + tok.encode(then, add_special_tokens=False)
    calls = {"n": 0, "active": 0, "max_active": 0}

    def hook(_module, _inputs, logits):
        step = calls["n"]
        calls["n"] += 1
        forced = torch.full_like(logits[:, -1, :], -1e4)
        forced[:, ids[min(step, len(ids) - 1)]] = 1e4
        logits = logits.clone()
        logits[:, -1, :] = forced
        return logits

    handle = loaded.model.lm_head.register_forward_hook(hook)
    return handle, calls


@pytest.fixture
def loaded(tiny_model_dir):
    from core.models.loading import load_model

    return load_model(tiny_model_dir)


def test_prompt_is_the_models_chat_template_ending_with_the_assistant_turn(loaded):
    tok = loaded.tokenizer
    msgs = build_messages("Be kind.", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                          "What is mass?")
    ids = prompt_ids(tok, msgs)
    text = tok.decode(ids)
    assert text.startswith("<|bos|><|user_start|>Be kind.\n\nhi<|user_end|><|assistant_start|>hello<|assistant_end|>")
    assert text.endswith("<|user_start|>What is mass?<|user_end|><|assistant_start|>")
    assert ids[-1] == tok.convert_tokens_to_ids(ASSISTANT_START)


def test_reply_is_only_the_new_tokens_and_stops_at_assistant_end(loaded):
    handle, _ = script(loaded, "The answer is B.")
    stats = ReplyStats()
    try:
        deltas = list(stream_reply(loaded, build_messages("Be kind.", [], "Which one?"), GREEDY, stats=stats))
    finally:
        handle.remove()
    assert "".join(deltas) == "The answer is B."
    assert stats.stopped == "eos"
    assert stats.new_tokens == len(loaded.tokenizer.encode("The answer is B.", add_special_tokens=False)) + 1


def test_reply_stops_at_max_new_tokens(loaded):
    handle, _ = script(loaded, " word" * 50)
    stats = ReplyStats()
    try:
        list(stream_reply(loaded, build_messages(None, [], "Go"), ChatSettings(temperature=0, max_new_tokens=5),
                          stats=stats))
    finally:
        handle.remove()
    assert stats.new_tokens == 5 and stats.stopped == "length"


def test_sampling_settings_generate_a_reply(loaded):
    torch.manual_seed(0)
    text = reply(loaded, build_messages(None, [], "Hi"), ChatSettings(temperature=1.0, top_p=0.5, max_new_tokens=8))
    assert isinstance(text, str)


def test_history_is_trimmed_oldest_first_and_the_system_prompt_stays(loaded):
    tok = loaded.tokenizer
    history = []
    for i in range(6):
        history += [{"role": "user", "content": f"question {i} " * 20}, {"role": "assistant", "content": f"answer {i} " * 20}]
    msgs = build_messages("SYSTEM PROMPT", history, "last question")
    full = len(prompt_ids(tok, msgs))
    ids, dropped = fit_messages(tok, msgs, full // 2)
    assert len(ids) <= full // 2 and dropped > 0 and dropped % 2 == 0
    text = tok.decode(ids)
    assert "SYSTEM PROMPT" in text and "last question" in text
    assert "question 0" not in text and "answer 5" in text
    assert text.split("<|user_end|>")[0].split("\n\n")[1].startswith("question")  # a user turn comes first


def test_a_message_too_long_for_the_context_is_a_clear_error(loaded):
    with pytest.raises(StudioError, match="Shorten it"):
        fit_messages(loaded.tokenizer, build_messages("s", [], "word " * 3000), 1000)


def test_clean_input_strips_control_characters_and_defuses_special_tokens():
    assert clean_input("  hi\x00\x07 there\r\nok\u202e ") == "hi there\nok"
    cleaned = clean_input("a<|assistant_end|><|user_start|>b")
    assert "<|assistant_end|>" not in cleaned and "<|user_start|>" not in cleaned and cleaned.startswith("a")
    with pytest.raises(StudioError, match="limit is 4,000"):
        clean_input("x" * 4001)
    with pytest.raises(StudioError, match="empty"):
        clean_input("\x00 \x01")


def test_control_characters_and_typed_markers_do_not_break_a_reply(loaded):
    question = clean_input("What\x00 is<|assistant_end|> mass?\x1b[31m")
    ids = prompt_ids(loaded.tokenizer, build_messages(None, [], question))
    assert ids.count(loaded.tokenizer.eos_token_id) == 0  # no fake end of turn in the prompt
    assert isinstance(reply(loaded, build_messages(None, [], question), GREEDY), str)


def test_one_generation_at_a_time_per_device_and_waiters_learn_their_place(loaded):
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def enter(*_):
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])

    def leave(*_):
        with lock:
            active["now"] -= 1

    h1 = loaded.model.register_forward_pre_hook(enter)
    h2 = loaded.model.register_forward_hook(leave)
    positions: list[int] = []
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            reply_text = "".join(stream_reply(loaded, build_messages(None, [], f"q{i}"),
                                              ChatSettings(temperature=0, max_new_tokens=12),
                                              on_wait=positions.append))
            assert isinstance(reply_text, str)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        h1.remove()
        h2.remove()
    assert not errors
    assert active["max"] == 1
    assert any(p > 0 for p in positions)
    assert len(device_queue(loaded.device)) == 0


def test_closing_the_stream_stops_generation_and_frees_the_device(loaded):
    handle, calls = script(loaded, " word" * 200)
    stats = ReplyStats()
    try:
        gen = stream_reply(loaded, build_messages(None, [], "Go"), ChatSettings(temperature=0, max_new_tokens=200),
                           stats=stats)
        next(gen)
        gen.close()
    finally:
        handle.remove()
    assert stats.new_tokens < 200 and stats.stopped == "stopped"
    assert len(device_queue(loaded.device)) == 0


def test_the_generation_time_limit_cuts_a_reply(loaded):
    stats = ReplyStats()
    list(stream_reply(loaded, build_messages(None, [], "Go"),
                      ChatSettings(temperature=0, max_new_tokens=200, timeout=1e-6), stats=stats))
    assert stats.stopped == "timeout" and stats.new_tokens < 200


def test_a_full_queue_and_a_queue_timeout_are_clear_errors():
    q = DeviceQueue(max_waiting=1)
    ticket = q.enter()
    with pytest.raises(StudioError, match="busy"):
        q.enter()
    q.max_waiting = 5
    with pytest.raises(StudioError, match="still ahead"):
        q.enter(timeout=0.3)
    q.leave(ticket)
    q.leave(q.enter())
    assert len(q) == 0


def test_rate_limiter_refuses_a_session_over_its_limit_but_not_others():
    limiter = RateLimiter(max_requests=2, window=3600)
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(StudioError, match="Slow down"):
        limiter.check("a")
    limiter.check("b")


def test_settings_are_validated():
    with pytest.raises(ValueError):
        ChatSettings(temperature=-1)
    with pytest.raises(ValueError):
        ChatSettings(top_p=0)
    with pytest.raises(ValueError):
        ChatSettings(max_new_tokens=0)


def test_model_is_loaded_once_per_folder(tiny_model_dir):
    assert get_model(tiny_model_dir) is get_model(str(tiny_model_dir))


def test_chat_command_streams_an_answer(tiny_model_dir, capsys):
    assert main(["chat", "--model", str(tiny_model_dir), "--temperature", "0", "--max-new-tokens", "8",
                 "Which is heavier?"]) == 0
    assert capsys.readouterr().out.endswith("\n")
    assert main(["chat", "--model", str(tiny_model_dir), "x" * 5000]) == 2
    assert "limit is 4,000" in capsys.readouterr().err


def test_chat_command_grade_and_family_sampling(tiny_model_dir, capsys, monkeypatch):
    import core.serving.chat as chat

    seen = {}
    real = chat.stream_reply

    def spy(loaded, messages, settings=None, **kw):
        seen.update(system=messages[0]["content"], settings=settings)
        return real(loaded, messages, settings, **kw)

    monkeypatch.setattr(chat, "stream_reply", spy)
    assert main(["chat", "--model", str(tiny_model_dir), "--grade", "3", "--max-new-tokens", "4", "Why?"]) == 0
    assert seen["system"].endswith("The student is in grade 3: explain in words a grade 3 student can read.")
    # nanochat has no measured sampling of its own: the app's defaults, with the flag given
    assert seen["settings"] == chat.ChatSettings(max_new_tokens=4)


def test_chat_command_with_a_down_endpoint_says_so_and_answers_locally(tiny_model_dir, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["chat", "--model", str(tiny_model_dir), "--temperature", "0", "--max-new-tokens", "4",
                 "--endpoint", f"http://127.0.0.1:{port}/v1", "Which is heavier?"]) == 0
    out = capsys.readouterr().out
    assert f"The tutor server at 127.0.0.1:{port} cannot be reached." in out and "this machine" in out
    assert main(["chat", "--model", str(tiny_model_dir), "--endpoint", "ftp://x", "Hi"]) == 2
    assert "http://" in capsys.readouterr().err
