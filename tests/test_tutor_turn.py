"""core.evaluation.tutor: what the Tutor page's fields mean and what each turn leaves in the conversation."""

from __future__ import annotations

import pytest

from core.errors import StudioError
from core.evaluation import tutor
from core.serving import chat, endpoint


def test_the_pages_fields_become_checked_settings_and_a_prompt_with_the_grade():
    s = tutor.setup("Be kind.", 4, 0.2, 0.9, 64, 1.1)
    assert (s.settings.temperature, s.settings.top_p, s.settings.max_new_tokens) == (0.2, 0.9, 64)
    assert s.settings.repetition_penalty == 1.1
    assert s.base_system == "Be kind." and s.system_prompt.startswith("Be kind.") and "4" in s.system_prompt
    assert tutor.setup("   ", 0, 0.2, 0.9, 64, 1.1).base_system == ""  # blank: the model's default


def test_a_system_prompt_too_long_is_refused_in_one_line():
    with pytest.raises(StudioError, match="system prompt"):
        tutor.setup("x" * (chat.MAX_SYSTEM_CHARS + 1), 0, 0.2, 0.9, 64, 1.1)


def test_a_stopped_reply_keeps_what_arrived_marked_as_cut_short_and_an_empty_one_says_so():
    assert tutor.stopped_entry("Plants make") == {"role": "assistant", "content": "Plants make …", "stopped": True}
    assert tutor.stopped_entry("")["content"] == "…"

    class Turn:
        stats = chat.ReplyStats()

        def lesson_note(self) -> str:
            return "From the lesson: plants"

    entry = tutor.reply_entry("", Turn())
    assert entry["content"] == tutor.EMPTY_REPLY and entry["lesson"] == "From the lesson: plants"
    assert entry["note"] == chat.reply_note(Turn.stats)


def test_a_turn_comes_from_this_model_without_a_server_and_from_the_server_when_one_is_set(tiny_model_dir):
    loaded = chat.get_model(tiny_model_dir)
    settings = chat.ChatSettings(max_new_tokens=4, temperature=0)
    local = tutor.start_turn(loaded, None, "", [], "Why is the sky blue?", settings, fmt="tutor", grounded=False,
                             actor=None)
    "".join(local.deltas)
    assert local.stats.prompt_tokens > 0 and not isinstance(local, endpoint.EndpointTurn)
    ep = endpoint.make_endpoint("http://127.0.0.1:9/v1", "m")  # nothing listens: this model answers
    remote = tutor.start_turn(loaded, ep, "", [], "Why is the sky blue?", settings, fmt="tutor", grounded=False,
                              actor=None)
    assert isinstance(remote, endpoint.EndpointTurn) and remote.lesson_note() == ""
    assert "".join(remote.deltas)
