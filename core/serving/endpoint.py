"""The tutor on a serving engine: any server that speaks the OpenAI chat-completions API with streaming
(vLLM's `vllm serve` on a GPU box, llama.cpp's `llama-server` / `python -m llama_cpp.server`, Ollama).

    SQA_TUTOR_ENDPOINT=http://gpu-box:8000/v1  SQA_TUTOR_ENDPOINT_MODEL=my-tutor  [SQA_TUTOR_ENDPOINT_KEY=...]

The app's own policy stays in front of it: callers clean the input, apply the rate limit, the access check
and build the messages (system prompt and grade) exactly as for the local model; only generation moves.
The key is read from the environment only and never shown. A down, failing or stalled server gives one
plain sentence (`EndpointError`); `answer` then falls back to the local model when one is loaded, saying
so in one sentence before the reply.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import StudioError
from core.serving.chat import NOTICE, ReplyStats, build_messages, is_notice, without_notice  # noqa: F401

ENDPOINT_ENV, MODEL_ENV, KEY_ENV = "SQA_TUTOR_ENDPOINT", "SQA_TUTOR_ENDPOINT_MODEL", "SQA_TUTOR_ENDPOINT_KEY"
CONNECT_TIMEOUT = 5.0  # seconds to reach the server
STALL_TIMEOUT = 30.0  # seconds the stream may go without a chunk before it counts as stalled


class EndpointError(StudioError):
    """The server could not give a reply (one sentence, no server internals)."""


@dataclass(frozen=True)
class Endpoint:
    url: str  # the API base, e.g. http://host:8000/v1
    model: str  # the model name the server serves
    api_key: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc or self.url

    def __repr__(self) -> str:  # the key never lands in a log or a page
        return f"Endpoint({self.url!r}, model={self.model!r})"


def check_url(url: str) -> str:
    """An http(s) API base with a host, without credentials or a query; otherwise one sentence."""
    url = str(url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StudioError("The tutor endpoint must be an http:// or https:// address, like http://gpu-box:8000/v1.")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise StudioError("The tutor endpoint must be a plain address (no password, query or #); put the key "
                          f"in {KEY_ENV}.")
    return url


def make_endpoint(url: str, model: str = "", api_key: str = "") -> Endpoint:
    model = str(model or "").strip()
    if len(model) > 200 or any(ord(c) < 32 for c in model):
        raise StudioError("The endpoint's model name is not a valid name.")
    return Endpoint(check_url(url), model or "default", api_key or os.environ.get(KEY_ENV, ""))


def endpoint_from_env() -> Endpoint | None:
    """The endpoint named by SQA_TUTOR_ENDPOINT (and SQA_TUTOR_ENDPOINT_MODEL / _KEY), or None."""
    url = os.environ.get(ENDPOINT_ENV, "").strip()
    return make_endpoint(url, os.environ.get(MODEL_ENV, "")) if url else None


def endpoint_for_page(url: str | None, model: str | None, actor) -> Endpoint | None:
    """The endpoint a page uses: the admin's field when filled (checked by core.access: pointing the tutor
    at a server is an admin's choice), else SQA_TUTOR_ENDPOINT, else None."""
    from core import access

    if url and str(url).strip():
        access.require(actor, "Choosing the tutor's server")
        return make_endpoint(str(url), str(model or ""))
    return endpoint_from_env()


def _client(ep: Endpoint):
    from openai import OpenAI, Timeout

    return OpenAI(base_url=ep.url, api_key=ep.api_key or "not-needed", max_retries=0,
                  timeout=Timeout(STALL_TIMEOUT, connect=CONNECT_TIMEOUT))


def stream_endpoint(ep: Endpoint, messages: list[dict[str, str]], settings, *, stats=None,
                    stop: threading.Event | None = None) -> Iterator[str]:
    """Yield the server's reply as text deltas. Ends at the server's end, at `settings.timeout` (stats.stopped
    'timeout'), or when `stop` is set; a server that cannot be reached, answers an error or stalls raises
    EndpointError with one sentence."""
    import openai

    began = time.monotonic()
    kwargs: dict = dict(model=ep.model, messages=messages, stream=True, max_tokens=settings.max_new_tokens,
                        temperature=settings.temperature, top_p=settings.top_p)
    if settings.seed is not None:
        kwargs["seed"] = settings.seed
    if settings.repetition_penalty != 1.0:  # not in the OpenAI API: vLLM's and llama.cpp's names
        kwargs["extra_body"] = {"repetition_penalty": settings.repetition_penalty,
                                "repeat_penalty": settings.repetition_penalty}
    stream = None
    try:
        stream = _client(ep).chat.completions.create(**kwargs)
        if stats is not None:
            stats.waited = time.monotonic() - began
        for chunk in stream:
            if stop is not None and stop.is_set():
                if stats is not None:
                    stats.stopped = "stopped"
                return
            choice = chunk.choices[0] if chunk.choices else None
            text = (choice.delta.content or "") if choice is not None and choice.delta else ""
            if stats is not None:
                stats.new_tokens += 1 if text else 0
                if choice is not None and choice.finish_reason:
                    stats.stopped = "length" if choice.finish_reason == "length" else "eos"
            if text:
                if stats is not None and stats.first_token is None:
                    stats.first_token = time.monotonic() - began
                yield text
            if time.monotonic() - began > settings.timeout:
                if stats is not None:
                    stats.stopped = "timeout"
                return
    except openai.APITimeoutError as e:
        raise EndpointError(f"The tutor server at {ep.host} stopped answering (nothing for "
                            f"{STALL_TIMEOUT:.0f} s).") from e
    except openai.APIConnectionError as e:
        raise EndpointError(f"The tutor server at {ep.host} cannot be reached.") from e
    except openai.APIStatusError as e:
        what = "does not serve the model named " + repr(ep.model) if e.status_code == 404 else \
            "refused the key" if e.status_code in (401, 403) else f"answered with an error (HTTP {e.status_code})"
        raise EndpointError(f"The tutor server at {ep.host} {what}.") from e
    except openai.OpenAIError as e:
        raise EndpointError(f"The tutor server at {ep.host} sent a reply this app cannot read.") from e
    finally:
        if stream is not None:
            stream.close()
        if stats is not None:
            stats.seconds = time.monotonic() - began


def answer(loaded, ep: Endpoint | None, messages: list[dict[str, str]], settings, *, stats=None,
           on_wait=None, stop: threading.Event | None = None) -> Iterator[str]:
    """The reply from the endpoint when one is set, else (or when it is down before its first word, and a
    local model is loaded) from the local model, after one sentence saying so."""
    from core.serving.chat import stream_reply  # looked up at call time (tests may wrap it)

    if ep is not None:
        got = False
        try:
            for text in stream_endpoint(ep, messages, settings, stats=stats, stop=stop):
                got = True
                yield text
            return
        except EndpointError as e:
            if got or loaded is None:
                raise
            yield f"{NOTICE}{e} This answer comes from the model on this machine instead.\n\n"
    yield from stream_reply(loaded, messages, settings, on_wait=on_wait, stop=stop, stats=stats)


@dataclass
class EndpointTurn:
    """A reply from `answer`, shaped like core.evaluation.grounding's TutorReply for the pages."""
    deltas: Iterator[str]
    stats: object
    abstained: bool = False  # no letter probabilities from a server: it never abstains
    confidence: float | None = None

    def lesson_note(self) -> str:
        return ""  # the server gets the conversation as it is: no lessons are retrieved for it


def endpoint_turn(loaded, ep: Endpoint, system: str | None, history: list[dict[str, str]], text: str, settings, *,
                  on_wait=None, stop: threading.Event | None = None) -> EndpointTurn:
    """The Tutor page's turn when an endpoint is set: the system prompt, history and question as messages."""
    stats = ReplyStats()
    return EndpointTurn(answer(loaded, ep, build_messages(system, history, text), settings, stats=stats,
                               on_wait=on_wait, stop=stop), stats)
