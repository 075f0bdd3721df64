"""`python -m core chat`: ask the tutor a question in a terminal; the answer streams as it is generated.

    python -m core chat --model tiny "Which is heavier, 3 kg or 5 kg?"
    python -m core chat --model run:20260101-120000 --temperature 0       # no question: a conversation
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("chat", help="chat with a model (streams the answer)")
    p.add_argument("question", nargs="?", default=None, help="the question (omit it for a conversation; "
                                                               "an empty line or Ctrl-D ends it)")
    p.add_argument("--model", default="tiny", help="tiny | a Hub repo id | a model folder | run:<id>")
    p.add_argument("--system", default=None, help="system prompt (default: the tutor's)")
    p.add_argument("--temperature", type=float, default=0.7, help="0 = greedy")
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--device", default=None, help="cuda | mps | cpu (default: best available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.models.catalogue import resolve_model
    from core.serving.chat import ChatSettings, build_messages, clean_input, get_model, stream_reply
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT

    settings = ChatSettings(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens)
    system = DEFAULT_SYSTEM_PROMPT if args.system is None else args.system
    loaded = get_model(resolve_model(args.model, progress=lambda m: print(m, file=sys.stderr)), device=args.device)
    history: list[dict[str, str]] = []
    interactive = args.question is None
    while True:
        if interactive:
            try:
                text = input("you> ").strip()
            except EOFError:
                return 0
            if not text:
                return 0
        else:
            text = args.question
        question = clean_input(text)
        answer = []
        if interactive:
            print("tutor> ", end="", flush=True)
        for delta in stream_reply(loaded, build_messages(system, history, question), settings):
            answer.append(delta)
            print(delta, end="", flush=True)
        print()
        if not interactive:
            return 0
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": "".join(answer)}]
