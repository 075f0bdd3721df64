"""The class link: a Gradio app that serves ONLY the tutor chat, for a teacher to share with students.

It has one chat box and a Practice tab (classroom_practice.py: practice sessions of core.practice) (no file upload: Gradio's upload routes are removed, no training, no data, no files served: no `allowed_paths`, the
project and the app home blocked, no flagging, no run history, no monitoring, no MCP), one API
endpoint (`/chat`), a per-session rate limit, an input length limit, and replies decoded together in one
bounded batch (core.serving.batching; Gradio's queue shows each student beyond it their place in line).
Bad input is one sentence in the chat, never an error badge. With SQA_TUTOR_ENDPOINT set (or an endpoint
given to `start`), replies come from that OpenAI-compatible server, the local model answering when it is
down (core.serving.endpoint). An optional password comes from the
environment (`SQA_CLASS_PASSWORD`), never the command line. `--share` asks Gradio for a public
https link; without internet it says so and serves the local address only. On a Hugging Face Space
Gradio has no share links: the Space's own Tutor page is the class link (`space_class_link`).

    python classroom.py --model tiny --port 7860 --share

The Tutor page starts it with `start()` and reads `status()`: the server is a job like a training run
(core.jobs.runner: launched in its own session, its states written by the runner, its pid and start
time, a heartbeat, `terminate` only after checking it is the process this app started), in the job folder
`<home>/classroom`. This module imports gradio only inside `build_app`/`main`.
"""

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core import access
from core.errors import StudioError
from core.files import write_json_atomic
from core.home import PROJECT_ROOT, area, home
from core.jobs import lifecycle, runner, runs

PASSWORD_ENV = "SQA_CLASS_PASSWORD"
TITLE = "Science tutor"


# ---- the app ---------------------------------------------------------------------------------------

def history_messages(history: list[dict] | None) -> list[dict[str, str]]:
    """Gradio's chat history as plain {role, content} text turns. Gradio 6 gives each message's content
    as a list of parts ({"type": "text", "text": ...}); older versions as a string. The app's own notices
    (a refused message, a fallback) are left out, and with a refusal the message it refused."""
    from core.serving.endpoint import is_notice, without_notice

    out: list[dict[str, str]] = []
    for m in history or []:
        content = m.get("content")
        if isinstance(content, dict):
            content = [content]
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content
                              if isinstance(p, dict) and p.get("type", "text") == "text")
        if m.get("role") == "assistant" and isinstance(content, str) and is_notice(content):
            content = without_notice(content)
            if not content.strip():  # a refusal: the student's refused message goes too
                if out and out[-1]["role"] == "user":
                    out.pop()
                continue
        if m.get("role") in ("user", "assistant") and isinstance(content, str) and content.strip():
            out.append({"role": m["role"], "content": content})
    return out


def build_app(loaded, system_prompt: str, settings, rate=None, examples: list[str] | None = None, note: str = "",
              lessons=None, fmt: str = "paper_ale", endpoint=None):
    """A gr.ChatInterface over `core.evaluation.grounding.tutor_reply` (history is Gradio's openai-style
    messages), grounded in `lessons` (a core.data.lessons.LessonIndex; None = off); with `endpoint` set,
    over `core.serving.endpoint.answer` (that server; this model when it is down). Bad input (empty, too
    long, too fast) and failures are one sentence in the chat, never an error badge: the box stays usable
    and the conversation stays."""
    import gradio as gr

    from core.errors import StudioError
    from core.evaluation.grounding import K_LESSONS, tutor_reply
    from core.serving.chat import RateLimiter, build_messages, clean_input
    from core.serving.endpoint import NOTICE, answer

    limiter = rate or RateLimiter()

    # gr.Request is found by its (real, not stringified) annotation: no `from __future__ import annotations` here.
    def respond(message: str, history: list[dict], request: gr.Request):
        text = ""
        try:
            limiter.check(getattr(request, "session_hash", None) or "anonymous")
            question = clean_input(message)
            past = history_messages(history)
            turn = None
            if endpoint is not None:
                deltas = answer(loaded, endpoint, build_messages(system_prompt, past, question), settings)
            else:
                found = lessons.retrieve(question, K_LESSONS) if lessons is not None else []
                turn = tutor_reply(loaded, system_prompt, past, question, settings, fmt=fmt, lessons=found)
                deltas = turn.deltas
            for delta in deltas:
                text += delta
                yield text
            if not text.strip():
                yield "(no answer: the model ended its turn at once; try asking differently)"
            elif turn is not None and turn.lesson_note():
                yield f"{text}\n\n*{turn.lesson_note()}*"
        except (StudioError, ValueError) as e:
            yield (text + "\n\n" if text.strip() else "") + f"{NOTICE}{e}"
        except Exception as e:  # noqa: BLE001 - a student sees one sentence; the detail goes to the server log
            print(f"class link: reply failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            yield (text + "\n\n" if text.strip() else "") + f"{NOTICE}The tutor hit a problem; ask again."

    return gr.ChatInterface(
        respond, title=TITLE, description=f"Ask a science question. Answers can be wrong: check them. {note}".strip(),
        examples=examples or None, cache_examples=False, flagging_mode="never", save_history=False,
        editable=False, multimodal=False, api_name="chat", api_description="Ask the tutor", fill_height=True,
        textbox=gr.Textbox(placeholder="Type a science question…", submit_btn=True),
        # No "share" button: students' conversations are not posted anywhere; HTML stays sanitized.
        chatbot=gr.Chatbot(buttons=["copy", "copy_all"], sanitize_html=True, show_label=False),
    )


def launch_kwargs(share: bool, port: int | None, host: str, password: str | None) -> dict:
    """launch() arguments that keep the app to its one chat endpoint."""
    kwargs = dict(share=share, server_name=host, server_port=port, prevent_thread_lock=True, quiet=False,
                  footer_links=[], run_history=False, enable_monitoring=False, mcp_server=False, pwa=False,
                  ssr_mode=False, allowed_paths=[], max_file_size="1kb", show_error=True,
                  blocked_paths=[str(PROJECT_ROOT), str(home())], app_kwargs={"middleware": [_no_uploads()]})
    if password:
        import hmac

        kwargs["auth"] = lambda _user, typed: hmac.compare_digest(typed.encode(), password.encode())
        kwargs["auth_message"] = "Type the class password."
    return kwargs


# The class link's own sign-in page: only the password (Gradio's asks for a user name too, which students
# do not have), what was typed stays in the box after a wrong try, and the message says so plainly. It
# posts to Gradio's own /login, so Gradio's cookie and checks stay the only gate.
PASSWORD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ScienceQA tutor</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f7f9;margin:0;display:flex;
min-height:100vh;align-items:center;justify-content:center}
form{background:#fff;border:1px solid #dde;border-radius:10px;padding:28px;width:min(340px,86vw)}
h1{font-size:1.3rem;margin:0 0 6px}p{color:#555;margin:0 0 18px}label{display:block;font-weight:600;margin-bottom:6px}
input{box-sizing:border-box;width:100%;font-size:1.05rem;padding:10px;border:1px solid #bbc;border-radius:6px}
button{margin-top:14px;width:100%;font-size:1.05rem;padding:10px;border:0;border-radius:6px;background:#ea580c;
color:#fff;cursor:pointer}#msg{color:#b91c1c;min-height:1.3em;margin:10px 0 0}
</style></head><body>
<form id="f"><h1>ScienceQA tutor</h1><p>Your teacher gave you the class password.</p>
<label for="pw">Class password</label>
<input id="pw" name="password" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Open the tutor</button><div id="msg" role="alert"></div></form>
<script>
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const pw = document.getElementById("pw"), msg = document.getElementById("msg");
  msg.textContent = "";
  const body = new URLSearchParams({username: "student", password: pw.value});
  let r;
  try { r = await fetch("login", {method: "POST", body, credentials: "same-origin"}); }
  catch (err) { msg.textContent = "The tutor cannot be reached. Try again in a moment."; return; }
  if (r.ok) { location.reload(); return; }
  msg.textContent = "Wrong password. Check it and try again.";
  pw.focus(); pw.select();
});
</script></body></html>
"""


def install_password_page(app) -> None:
    """Serve PASSWORD_PAGE at / to visitors not signed in; signed-in visitors get the chat as before."""
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    chat_page = next(r for r in app.router.routes
                     if getattr(r, "path", None) == "/" and "GET" in getattr(r, "methods", ()))

    def signed_in(request) -> str | None:
        token = (request.cookies.get(f"access-token-{app.cookie_id}")
                 or request.cookies.get(f"access-token-unsecure-{app.cookie_id}"))
        return app.tokens.get(token)

    def front(request):
        user = signed_in(request)
        if user is None:
            return HTMLResponse(PASSWORD_PAGE, headers={"Cache-Control": "no-store"})
        q = request.query_params
        return chat_page.endpoint(request, user=user, page=q.get("page", ""), deep_link=q.get("deep_link", ""))

    app.router.routes.insert(0, Route("/", front, methods=["GET", "HEAD"]))
def _no_uploads():
    from starlette.middleware import Middleware

    return Middleware(RefuseUploads)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny", help="tiny | a Hub repo id | a model folder | run:<id>")
    p.add_argument("--port", type=int, default=None, help="default: the first free port from 7860")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve the local network")
    p.add_argument("--share", action="store_true", help="ask Gradio for a public https link")
    p.add_argument("--system", default=None, help="system prompt (default: the tutor's)")
    p.add_argument("--grade", type=int, default=None, choices=range(1, 13), help="the students' grade (1-12)")
    p.add_argument("--temperature", type=float, default=None, help="default: the model family's (measured)")
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--repetition-penalty", type=float, default=None)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--rate", type=int, default=10, help="questions per minute per student")
    p.add_argument("--state", default=None, help="write the addresses here as JSON once serving")
    p.add_argument("--lessons", default=None, help="answer from the lessons of this source (default: the app's), "
                                                   "or 'off'")
    p.add_argument("--batch", type=int, default=None, help="replies decoded together (default: "
                   "core.serving.batching.MAX_BATCH; 1 = one at a time)")
    args = p.parse_args(argv)
    access.act_as_local()  # started from this machine's command line, or by start() after its check
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    job = Path(args.state).parent if args.state else None  # the job folder the Tutor page launched it in
    if job is None:
        serve(args, None)
        return 0
    code = runner.run(job, lambda j: serve(args, j), device=False, message="loading the model",
                      on_signal=lambda: _stop_now(job))  # the states are the runner's: a stop ends it `stopped`
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # its state is written: do not wait for the web server's threads (stop must be prompt)


def _stop_now(job: Path) -> None:
    """SIGTERM: a class link has nothing to save, so it ends at once (the web server's threads would delay it)."""
    runner.end(job, "stopped", message="stopped")
    os._exit(runner.EXIT_INTERRUPTED)


def serve(args: argparse.Namespace, job: "runner.Job | None") -> str:
    from dataclasses import replace

    from classroom_practice import with_practice
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT, with_grade
    from core.evaluation.capability import capability_note, default_format, model_family
    from core.models.obtain import resolve_model
    from core.serving.batching import MAX_BATCH, batcher_for
    from core.serving.chat import RateLimiter, clean_input, example_questions, get_model, sampling_defaults
    from core.serving.endpoint import endpoint_from_env

    password = os.environ.pop(PASSWORD_ENV, "") or None
    chosen = {k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p),
                                ("repetition_penalty", args.repetition_penalty),
                                ("max_new_tokens", args.max_new_tokens)) if v is not None}
    settings = replace(sampling_defaults(model_family(args.model)), **chosen)
    system = clean_input(args.system, 2000, "The system prompt") if args.system else DEFAULT_SYSTEM_PROMPT
    model_dir = resolve_model(args.model)
    loaded = get_model(model_dir)
    from core.data.lessons import lesson_index
    from core.evaluation.grounding import warm

    batch = max(1, args.batch or MAX_BATCH)
    batcher_for(loaded).max_batch = batch
    endpoint = endpoint_from_env()
    about = (f"answers come from {endpoint.model} on the school's server ({endpoint.host}); this machine's "
             f"model answers when it is down. This machine's model: {capability_note(args.model)}"
             if endpoint else capability_note(args.model))
    index = None if str(args.lessons).lower() == "off" else lesson_index(args.lessons, print)
    warm(loaded, default_format(args.model), index is not None)  # measured while students arrive
    demo = build_app(loaded, with_grade(system, args.grade), settings, RateLimiter(args.rate, 60.0),
                     [text for _, text in example_questions(3, default_format(args.model))],
                     note=f"About this tutor: {about}", lessons=index, fmt=default_format(args.model),
                     endpoint=endpoint)
    demo = with_practice(demo, loaded, settings, args.rate)
    # As many replies at once as the batch holds (Gradio's queue shows the others their place in line).
    demo.queue(default_concurrency_limit=batch, max_size=200)
    share = args.share and not os.environ.get("SPACE_ID")
    app, local_url, share_url = demo.launch(**launch_kwargs(share, args.port, args.host, password))
    if password:
        install_password_page(app)
    if args.host == "0.0.0.0":  # what students on the same network type
        local_url = local_url.replace("0.0.0.0", lan_address()).replace("localhost", lan_address())
    state = {"pid": os.getpid(), "model": args.model, "local_url": local_url, "share_url": share_url,
             "share_requested": args.share, "password": bool(password), "started": time.time()}
    if args.share and not share_url:
        state["share_error"] = ("No public link: the internet (Gradio's share server) cannot be reached from "
                                "this machine. " + ("Students on the same network can use the address below."
                                                    if args.host == "0.0.0.0" else "The address below works on this "
                                                    "machine only; serve on the local network to reach students."))
    if args.state:
        write_json_atomic(Path(args.state), state)
    print(f"class link: {share_url or local_url}", flush=True)
    if job:
        job.say(share_url or local_url)
    demo.block_thread()
    return "stopped"  # a class link ends only when it is stopped


class RefuseUploads:
    """ASGI middleware: Gradio mounts its file-upload routes whatever the components; the class link takes
    text only, so an upload is answered 405 before Gradio reads a byte (nothing reaches the disk)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "").rstrip("/") if scope.get("type") == "http" else ""
        if path.endswith(("/upload", "/upload_progress")):
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"The class link accepts no uploads."})
            return
        await self.app(scope, receive, send)


def lan_address() -> str:
    """This machine's address on its local network (no packet is sent); 127.0.0.1 if it has none."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


# ---- the launcher the Tutor page uses (no gradio import) ----------------------------------------------

@dataclass
class ClassLink:
    state: str  # 'starting' | 'running' | 'failed'
    pid: int | None
    local_url: str | None = None
    share_url: str | None = None
    share_error: str | None = None
    model: str = ""
    password: bool = False
    log_tail: str = ""

    @property
    def url(self) -> str | None:
        return self.share_url or self.local_url


def _folder() -> Path:
    return area("classroom")


def start(model: str, share: bool = True, password: str | None = None, port: int | None = None,
          host: str = "127.0.0.1", system_prompt: str | None = None, max_new_tokens: int | None = None,
          rate: int = 10, grade: int | None = None, actor: access.Actor | None = None,
          lessons: bool = True, endpoint=None) -> ClassLink:
    """Start the class-link server in the background (stopping one already running). `endpoint` (a
    core.serving.endpoint.Endpoint) replaces SQA_TUTOR_ENDPOINT for this server; its key travels in the
    environment, never on the command line."""
    from core.models.catalogue import local_model_folder

    access.require(actor, "Starting a class link")
    if local_model_folder(model) is None:
        raise StudioError(f"{model} is not here yet: open it on the Tutor page (or the Models page) first.")
    stop(actor)
    folder = _folder()
    runs.results_path(folder).unlink(missing_ok=True)  # the server's addresses are the job's result
    argv = [sys.executable, str(PROJECT_ROOT / "classroom.py"), "--model", model, "--host", host,
            "--state", str(runs.results_path(folder)), "--rate", str(rate)]
    argv += ["--max-new-tokens", str(max_new_tokens)] if max_new_tokens else []
    argv += ["--grade", str(grade)] if grade else []
    argv += [] if lessons else ["--lessons", "off"]
    argv += ["--share"] if share else []
    argv += ["--port", str(port)] if port else []
    argv += ["--system", system_prompt] if system_prompt else []
    # The server needs no Hub token: it serves a model already here.
    env = dict(GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=str(folder / "tmp"), HF_HUB_DISABLE_TELEMETRY="1")
    if endpoint is not None:  # the server's key travels in the environment, never on the command line
        from core.serving.endpoint import ENDPOINT_ENV, KEY_ENV, MODEL_ENV

        env.update({ENDPOINT_ENV: endpoint.url, MODEL_ENV: endpoint.model, KEY_ENV: endpoint.api_key})
    if password:
        env[PASSWORD_ENV] = password
    with contextlib.suppress(FileNotFoundError):
        (folder / lifecycle.LOG).unlink()  # one server's log at a time
    runs.write_config(folder, {"kind": "classlink", "model": model, "password": bool(password), "share": share,
                               "host": host, "created": time.time()})
    pid = runner.launch(folder, argv, env=env, drop=runner.TOKEN_VARS + (PASSWORD_ENV,))
    return ClassLink("starting", pid, model=model, password=bool(password))


def status() -> ClassLink | None:
    """The class link's state, or None when none was started."""
    folder = _folder()
    if not runs.launched(folder):
        return None
    try:
        config = runs.read_config(folder)
    except StudioError:
        config = {}
    model, password = str(config.get("model", "")), bool(config.get("password"))
    st = lifecycle.read_status(folder)
    if st.terminal:
        return ClassLink("failed", st.pid, model=model, log_tail=st.log_tail or lifecycle.log_tail(folder, 20))
    try:
        s = runs.read_results(folder) if runs.has_results(folder) else None
    except StudioError:
        s = None
    if not isinstance(s, dict):
        return ClassLink("starting", st.pid, model=model, password=password)
    return ClassLink("running", st.pid, s.get("local_url"), s.get("share_url"), s.get("share_error"),
                     str(s.get("model", model)), bool(s.get("password")))


def wait_until_serving(timeout: float = 90.0) -> ClassLink:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        link = status()
        if link is None or link.state != "starting":
            if link is None or link.state == "failed":
                raise StudioError("The class link did not start:\n" + (link.log_tail if link else ""))
            return link
        time.sleep(0.3)
    raise StudioError(f"The class link did not start within {timeout:.0f} s; see its log on the Tutor page.")


def stop(actor: access.Actor | None = None) -> None:
    """Stop the class-link server (its whole process group, once it is checked to be ours)."""
    access.require(actor, "Stopping the class link")
    folder = _folder()
    if not runs.launched(folder):
        return
    lifecycle.terminate(folder)
    if not lifecycle.read_status(folder).terminal:  # killed before its runner could write it
        runner.end(folder, "stopped", message="stopped")
    (folder / lifecycle.LAUNCHER).unlink(missing_ok=True)
    runs.results_path(folder).unlink(missing_ok=True)


def space_class_link() -> str | None:
    """On a Hugging Face Space: the Space's own Tutor page (share links are disabled there)."""
    if not os.environ.get("SPACE_ID"):
        return None
    host = os.environ.get("SPACE_HOST") or f"{os.environ['SPACE_ID'].replace('/', '-').lower()}.hf.space"
    return f"https://{host}/Tutor"


if __name__ == "__main__":
    sys.exit(main())
