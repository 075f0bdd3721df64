"""core.serving.endpoint's failure paths against real sockets on localhost: nothing listening, a server that
answers HTTP 500, and one whose stream stalls each give one sentence; a down server falls back to the local
model with one sentence; addresses are checked and the key never shows. (The happy path against llama.cpp's
real OpenAI-compatible server is tests/test_llamacpp.py.)"""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

import core.serving.endpoint as endpoint
from core.errors import StudioError
from core.serving.chat import ChatSettings, ReplyStats
from core.serving.endpoint import NOTICE, EndpointError, answer, make_endpoint, stream_endpoint

MESSAGES = [{"role": "user", "content": "Why is the sky blue?"}]
SETTINGS = ChatSettings(temperature=0.0, max_new_tokens=8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "500":
            body = b'{"error": {"message": "internal failure at /srv/secret/path.py line 3"}}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)  # "stall": one chunk of a stream, then nothing
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b'data: {"id":"1","object":"chat.completion.chunk","created":0,"model":"m",'
                         b'"choices":[{"index":0,"delta":{"role":"assistant","content":"The sky"},'
                         b'"finish_reason":null}]}\n\n')
        self.wfile.flush()
        time.sleep(5)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    servers = []

    def start(mode: str) -> str:
        handler = type("H", (_Handler,), {"mode": mode})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/v1"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def one_sentence(text: str) -> bool:
    return text.count(". ") == 0 and text.endswith(".") and "\n" not in text and "Traceback" not in text


def test_a_refused_connection_is_one_sentence():
    ep = make_endpoint(f"http://127.0.0.1:{free_port()}/v1", "tutor")
    with pytest.raises(EndpointError) as e:
        list(stream_endpoint(ep, MESSAGES, SETTINGS))
    assert str(e.value).endswith("cannot be reached.") and one_sentence(str(e.value))


def test_an_http_500_is_one_sentence_without_the_servers_details(server):
    ep = make_endpoint(server("500"), "tutor")
    with pytest.raises(EndpointError) as e:
        list(stream_endpoint(ep, MESSAGES, SETTINGS))
    assert "HTTP 500" in str(e.value) and one_sentence(str(e.value)) and "/srv/secret" not in str(e.value)


def test_a_stalled_stream_is_one_sentence_after_the_text_it_sent(server, monkeypatch):
    monkeypatch.setattr(endpoint, "STALL_TIMEOUT", 1.0)
    ep = make_endpoint(server("stall"), "tutor")
    got = []
    with pytest.raises(EndpointError) as e:
        for text in stream_endpoint(ep, MESSAGES, SETTINGS):
            got.append(text)
    assert got == ["The sky"]
    assert "stopped answering" in str(e.value) and one_sentence(str(e.value))


def test_a_down_server_falls_back_to_the_local_model_in_one_sentence(tiny_model_dir):
    from core.serving.chat import get_model

    loaded = get_model(tiny_model_dir)
    ep = make_endpoint(f"http://127.0.0.1:{free_port()}/v1", "tutor")
    stats = ReplyStats()
    parts = list(answer(loaded, ep, MESSAGES, SETTINGS, stats=stats))
    assert parts[0].startswith(NOTICE) and "cannot be reached" in parts[0] and "this machine" in parts[0]
    assert stats.new_tokens > 0 and stats.stopped in ("eos", "length")  # the local model answered
    with pytest.raises(EndpointError, match="cannot be reached"):  # no local model: the sentence alone
        list(answer(None, ep, MESSAGES, SETTINGS))


def test_a_stall_after_some_text_does_not_fall_back(server, monkeypatch, tiny_model_dir):
    from core.serving.chat import get_model

    monkeypatch.setattr(endpoint, "STALL_TIMEOUT", 1.0)
    ep = make_endpoint(server("stall"), "tutor")
    gen = answer(get_model(tiny_model_dir), ep, MESSAGES, SETTINGS)
    assert next(gen) == "The sky"
    with pytest.raises(EndpointError, match="stopped answering"):
        next(gen)


def test_addresses_are_checked_and_the_key_is_never_shown(monkeypatch):
    for bad in ("", "ftp://host/v1", "http://user:pw@host/v1", "http://host/v1?x=1", "host:8000"):
        with pytest.raises(StudioError):
            make_endpoint(bad, "m")
    monkeypatch.setenv(endpoint.KEY_ENV, "sk-SECRET")
    monkeypatch.setenv(endpoint.ENDPOINT_ENV, "http://gpu-box:8000/v1/")
    monkeypatch.setenv(endpoint.MODEL_ENV, "tutor-7b")
    ep = endpoint.endpoint_from_env()
    assert (ep.url, ep.model, ep.host, ep.api_key) == ("http://gpu-box:8000/v1", "tutor-7b", "gpu-box:8000", "sk-SECRET")
    assert "SECRET" not in repr(ep) and "SECRET" not in str(ep)


def test_a_visitor_cannot_point_the_tutor_at_a_server(monkeypatch):
    from core import access

    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "pw")
    with pytest.raises(StudioError, match="admin password"):
        endpoint.endpoint_for_page("http://evil:1/v1", "m", access.Actor(address="1.2.3.4"))
    assert endpoint.endpoint_for_page("", "", access.Actor(address="1.2.3.4")) is None
