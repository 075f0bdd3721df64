"""The class link: a Gradio app that serves ONLY the tutor chat, for a teacher to share with students.

It has one chat box and a Practice tab (classroom_practice.py: practice sessions of core.practice) (no file upload: Gradio's upload routes are removed, no training, no data, no files served: no `allowed_paths`, the
project and the app home blocked, no flagging, no run history, no monitoring, no MCP), one API
endpoint (`/chat`), a per-session rate limit, an input length limit, and replies decoded together in one
bounded batch (core.serving.batching; Gradio's queue shows each student beyond it their place in line).
Bad input is one sentence in the chat, never an error badge. With SQA_TUTOR_ENDPOINT set (or an endpoint
given to `classroom_launcher.start`), replies come from that OpenAI-compatible server, the local model answering when it is
down (core.serving.endpoint). An optional password comes from the
environment (`SQA_CLASS_PASSWORD`), never the command line. `--share` asks Gradio for a public
https link; without internet it says so and serves the local address only. On a Hugging Face Space
Gradio has no share links: the Space's own Tutor page is the class link (`classroom_launcher.space_class_link`).

    python classroom.py --model tiny --port 7860 --share

The Tutor page starts it, reads its state and stops it through classroom_launcher (a job in
`<home>/classroom`); what keeps it to its one chat (launch arguments, no uploads, the password page) is
classroom_gate. This module imports gradio only inside `build_app`/`serve`.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from classroom_gate import install_password_page, launch_kwargs
from classroom_launcher import PASSWORD_ENV
from core import access
from core.files import write_json_atomic
from core.jobs import runner

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
    from core.evaluation.grounded_choice import K_LESSONS
    from core.evaluation.grounding import tutor_reply
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
    from core.evaluation.tutor_calibration import warm

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


def lan_address() -> str:
    """This machine's address on its local network (no packet is sent); 127.0.0.1 if it has none."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


if __name__ == "__main__":
    sys.exit(main())
