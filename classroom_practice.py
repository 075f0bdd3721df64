"""The class link's Practice tab (Gradio): students join a practice session with its code and a nickname,
answer one question at a time, climb a hint ladder, get wrong answers explained by the tutor from the
row's own lecture and solution (streamed, with their place in the device queue while they wait), ask
follow-ups, and see their score and the skills to review at the end.

The same actions are the class link's API (gradio_client; bench/class_practice.py), one endpoint each:
`/practice_join`, `/practice_question`, `/practice_answer`, `/practice_hint`, `/practice_explain`,
`/practice_ask`, `/practice_result`. A student's key is the token `/practice_join` returns. The rules
(codes, nicknames, order, closed sessions) live in core.practice; this module only draws and limits
requests per client address and per student.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from core.data.prompts import build_context
from core.data.records import LETTERS
from core.errors import StudioError
from core.practice import explain, report, sessions, student_actions
from core.serving.chat import RateLimiter, clean_input

WAITING = "Waiting for the tutor"  # the start of every queue message (the benchmark tells them from the reply)
TAB = "Practice"


class Limits:
    """Requests per minute: joins per client address (a wrong-code guesser stops here), actions per
    student, and generations per student and per address (a class behind one address shares that one)."""

    def __init__(self, rate: int = 10):
        self.joins = RateLimiter(30, 60.0)
        self.actions = RateLimiter(60, 60.0)
        self.talk = RateLimiter(max(rate, 2), 60.0)
        self.talk_address = RateLimiter(max(rate, 2) * 30, 60.0)


def _address(request: gr.Request | None) -> str:
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "unknown")


def _fail(e: StudioError) -> gr.Error:
    return gr.Error(str(e), print_exception=False)


# ---- the actions (the API and the tab both call these) -------------------------------------------------

def question_payload(code: str, token: str) -> dict[str, Any]:
    session, me = student_actions.me(code, token)
    i = me.next_question(session.n)
    if i is None or not session.is_open:
        return {"done": True, "n": session.n}
    q = session.questions[i]
    return {"done": False, "index": i, "n": session.n, "question": q.question, "context": build_context(q),
            "choices": [f"({LETTERS[k]}) {c}" for k, c in enumerate(q.choices)]}


def answer_payload(code: str, token: str, index: Any, choice: Any) -> dict[str, Any]:
    session, _, c, correct = student_actions.answer(code, token, index, choice)
    q = session.questions[int(index)]
    right = explain.option(q, q.answer)
    if correct:
        message = f"Right! {right}. {explain.why_sentence(q)}"
    else:
        message = f"Not quite: you chose {explain.option(q, c)}. The right answer is {right}."
    return {"correct": correct, "chosen": c, "right": q.answer, "message": message}


def result_payload(code: str, token: str) -> dict[str, Any]:
    session, me = student_actions.me(code, token)
    r = report.student_result(session, me)
    return {"answered": r.answered, "correct": r.correct, "total": r.total, "practised": r.practised,
            "review": r.review}


def result_text(r: dict[str, Any]) -> str:
    lines = [f"### You got {r['correct']} of {r['total']} right."]
    if r["practised"]:
        lines.append("**Skills practised:** " + "; ".join(r["practised"]))
    lines.append("**Skills to review:** " + ("; ".join(r["review"]) if r["review"] else "none, well done!"))
    return "\n\n".join(lines)


def explanation(loaded, settings, code: str, token: str, index: Any, message: str | None = None,
                history: list[dict] | None = None) -> Iterator[str]:
    """The tutor's explanation of the student's wrong answer (message None), or its reply to a follow-up."""
    session, me = student_actions.me(code, token)
    try:
        i = int(str(index))
        q = session.questions[i]
    except (ValueError, IndexError):
        raise StudioError(f"There is no question {index!r} in this session.") from None
    a = me.answers.get(str(i))
    if message is None:
        if a is None or a.get("correct"):
            raise StudioError("The tutor explains a question after a wrong answer to it.")
        messages = explain.explanation_messages(q, int(a["choice"]))
    else:
        text = clean_input(message, 1000, "Your question")
        messages = explain.followup_messages(q, int(a["choice"]) if a else None, history or [], text)
    text, why = "", explain.why_sentence(q)
    for kind, value in explain.stream_events(loaded, messages, settings):
        if kind == "wait" and not text:  # their place in line, and the lesson's own why to read meanwhile
            yield (f"{WAITING}: {value} ahead of you… Meanwhile, from the lesson: {why}" if value
                   else f"{WAITING}…")
        elif kind == "text":
            text += str(value)
            yield text
    # a small model can still name a wrong answer or none: the row's own solution then replaces it
    final = explain.shown(q, text, int(a["choice"]) if message is None else None)
    if final != text:
        yield final


# ---- the tab -------------------------------------------------------------------------------------------

def build_tab(loaded, settings, rate: int = 10, limits: Limits | None = None) -> gr.Blocks:
    """The Practice tab, with its API endpoints, as a Blocks to place beside the chat."""
    limits = limits or Limits(rate)

    def guard(kind: str, key: str, request: gr.Request | None) -> None:
        if kind == "join":
            limits.joins.check(_address(request))
        elif kind == "talk":
            limits.talk_address.check(_address(request))
            limits.talk.check(key)
        else:
            limits.actions.check(key)

    def api(kind: str, fn):
        def call(*args, request: gr.Request | None = None):
            try:
                guard(kind, str(args[1]) if kind != "join" else "", request)
                return fn(*args)
            except StudioError as e:
                raise _fail(e) from e
        return call

    # API endpoints (typed functions; gradio_client calls them by name)
    def practice_join(code: str, nickname: str, request: gr.Request) -> dict:
        token, student = api("join", student_actions.join)(code, nickname, request=request)
        return {"token": token, "nickname": student.nickname, "n": sessions.load(code).n}

    def practice_question(code: str, token: str, request: gr.Request) -> dict:
        return api("act", question_payload)(code, token, request=request)

    def practice_answer(code: str, token: str, index: int, choice: str, request: gr.Request) -> dict:
        return api("act", answer_payload)(code, token, index, choice, request=request)

    def practice_hint(code: str, token: str, index: int, request: gr.Request) -> dict:
        def hint(code, token, index):
            q, step = student_actions.take_hint(code, token, index)
            return {"step": step, "title": explain.HINT_TITLES[step], "text": explain.hint_text(q, step)}
        return api("act", hint)(code, token, index, request=request)

    def practice_result(code: str, token: str, request: gr.Request) -> dict:
        return api("act", result_payload)(code, token, request=request)

    def practice_explain(code: str, token: str, index: int, request: gr.Request) -> Iterator[str]:
        try:
            guard("talk", token, request)
            yield from explanation(loaded, settings, code, token, index)
        except StudioError as e:
            raise _fail(e) from e

    def practice_ask(code: str, token: str, index: int, message: str, request: gr.Request) -> Iterator[str]:
        try:
            guard("talk", token, request)
            yield from explanation(loaded, settings, code, token, index, message)
        except StudioError as e:
            raise _fail(e) from e

    with gr.Blocks(title="Practice") as tab:
        state = gr.State({})
        with gr.Column(visible=True) as join_box:
            gr.Markdown("### Practice\nType the code your teacher gave you and a nickname (no real name needed).")
            code_in = gr.Textbox(label="Session code", max_length=16, placeholder="e.g. K7MX2P")
            nick_in = gr.Textbox(label="Nickname", max_length=40)
            join_btn = gr.Button("Join", variant="primary")
        status = gr.Markdown()
        with gr.Column(visible=False) as play_box:
            progress = gr.Markdown()
            question = gr.Markdown()
            options = gr.Radio(label="Your answer", choices=[])
            with gr.Row():
                answer_btn = gr.Button("Answer", variant="primary")
                hint_btn = gr.Button("Hint")
            hint_md = gr.Markdown()
            feedback = gr.Markdown()
            chat = gr.Chatbot(label="Tutor", height=260, buttons=["copy"], sanitize_html=True, visible=False)
            with gr.Row(visible=False) as ask_row:
                ask_in = gr.Textbox(label="Ask the tutor about this question", scale=4, max_length=1000)
                ask_btn = gr.Button("Ask", scale=1)
            next_btn = gr.Button("Next question", visible=False)
        results = gr.Markdown(visible=False)

        def show_question(st: dict) -> tuple:
            p = question_payload(st["code"], st["token"])
            if p["done"]:
                r = result_text(result_payload(st["code"], st["token"]))
                return (st, gr.update(visible=False), "", "", gr.update(choices=[], value=None), "", "",
                        gr.update(visible=False, value=[]), gr.update(visible=False), gr.update(visible=False),
                        gr.update(visible=True, value=r))
            st = {**st, "index": p["index"], "wrong": False}
            text = f"**{p['question']}**" + (f"\n\n{p['context']}" if p["context"] else "")
            choices = [(c, LETTERS[k]) for k, c in enumerate(p["choices"])]
            return (st, gr.update(visible=True), f"Question {p['index'] + 1} of {p['n']}", text,
                    gr.update(choices=choices, value=None, interactive=True), "", "",
                    gr.update(visible=False, value=[]), gr.update(visible=False), gr.update(visible=False),
                    gr.update(visible=False))

        shown = [state, play_box, progress, question, options, hint_md, feedback, chat, ask_row, next_btn, results]

        def on_join(code: str, nick: str, st: dict, request: gr.Request):
            try:
                limits.joins.check(_address(request))
                token, student = student_actions.join(code, nick)
                st = {"code": sessions.clean_code(code), "token": token}
                return (gr.update(visible=False), f"Welcome, {student.nickname}!", *show_question(st))
            except StudioError as e:
                return (gr.update(), str(e), st, *([gr.update()] * (len(shown) - 1)))

        def on_answer(choice: str | None, st: dict):
            if not st.get("token"):
                return st, "Join a session first.", gr.update(), gr.update(), gr.update(), gr.update()
            if not choice:
                return st, "Pick one of the options first.", gr.update(), gr.update(), gr.update(), gr.update()
            try:
                limits.actions.check(st["token"])
                p = answer_payload(st["code"], st["token"], st["index"], choice)
            except StudioError as e:
                return st, str(e), gr.update(), gr.update(), gr.update(), gr.update()
            st = {**st, "wrong": not p["correct"]}
            head, mark, rest = p["message"].partition("!" if p["correct"] else ":")
            return (st, f"**{head}{mark}**{rest}", gr.update(interactive=False),
                    gr.update(visible=not p["correct"], value=[]), gr.update(visible=not p["correct"]),
                    gr.update(visible=True))

        def on_explain(st: dict, request: gr.Request):
            if not st.get("wrong"):
                return
            try:
                guard("talk", st["token"], request)
                for text in explanation(loaded, settings, st["code"], st["token"], st["index"]):
                    yield [{"role": "assistant", "content": text}]
            except StudioError as e:
                yield [{"role": "assistant", "content": str(e)}]

        def on_hint(st: dict):
            try:
                limits.actions.check(st.get("token", ""))
                q, step = student_actions.take_hint(st["code"], st["token"], st["index"])
                return f"**{explain.HINT_TITLES[step]}** ({step} of {student_actions.HINT_STEPS}): {explain.hint_text(q, step)}"
            except (StudioError, KeyError) as e:
                return str(e) if isinstance(e, StudioError) else "Join a session first."

        def on_ask(message: str, history: list, st: dict, request: gr.Request):
            from classroom import history_messages

            past = history_messages(history)
            base = list(history or []) + [{"role": "user", "content": message}]
            try:
                guard("talk", st.get("token", ""), request)
                for text in explanation(loaded, settings, st["code"], st["token"], st["index"], message, past):
                    yield "", base + [{"role": "assistant", "content": text}]
            except StudioError as e:
                yield message, list(history or []) + [{"role": "assistant", "content": str(e)}]

        private = {"api_visibility": "private"}
        join_btn.click(on_join, [code_in, nick_in, state], [join_box, status, *shown], **private)
        answer_btn.click(on_answer, [options, state], [state, feedback, options, chat, ask_row, next_btn],
                         concurrency_limit=None, **private).then(on_explain, [state], [chat], **private)
        hint_btn.click(on_hint, [state], [hint_md], concurrency_limit=None, **private)
        ask_btn.click(on_ask, [ask_in, chat, state], [ask_in, chat], **private)
        ask_in.submit(on_ask, [ask_in, chat, state], [ask_in, chat], **private)
        next_btn.click(show_question, [state], shown, concurrency_limit=None, **private)

        quick = {"concurrency_limit": None}
        gr.api(practice_join, api_name="practice_join", **quick)
        gr.api(practice_question, api_name="practice_question", **quick)
        gr.api(practice_answer, api_name="practice_answer", **quick)
        gr.api(practice_hint, api_name="practice_hint", **quick)
        gr.api(practice_result, api_name="practice_result", **quick)
        gr.api(practice_explain, api_name="practice_explain", concurrency_limit="default")  # the batch size
        gr.api(practice_ask, api_name="practice_ask", concurrency_limit="default")
    return tab


def with_practice(chat: gr.Blocks, loaded, settings, rate: int = 10) -> gr.Blocks:
    """The class link: the chat and, beside it, the Practice tab."""
    return gr.TabbedInterface([chat, build_tab(loaded, settings, rate)], ["Ask the tutor", TAB],
                              title="Science tutor")
