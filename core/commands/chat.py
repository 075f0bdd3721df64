"""`python -m core chat`: ask the tutor a question in a terminal; the answer streams as it is generated.

    python -m core chat --model tiny "Which is heavier, 3 kg or 5 kg?"
    python -m core chat --model run:20260101-120000 --temperature 0       # no question: a conversation
    python -m core chat --model smollm2-135m --grade 3 "Why is the sky blue?"   # explained for grade 3
    python -m core chat --model smollm2-135m --lessons off "Which is a solid? (A) milk (B) a rock"

The tutor answers from the lessons of a source (`--lessons`, default the app's; `off` for none) and names
the lesson it used on stderr; a question typed with its options is answered by the model's letter
probabilities, then explained (core.evaluation.grounding).

    SQA_TUTOR_ENDPOINT=http://gpu-box:8000/v1 SQA_TUTOR_ENDPOINT_MODEL=tutor python -m core chat "Why?"

With SQA_TUTOR_ENDPOINT set (or --endpoint), the reply comes from that OpenAI-compatible server, and from
the local model, after one sentence, when the server is down (core.serving.endpoint).
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
    p.add_argument("--grade", type=int, default=None, choices=range(1, 13), help="the student's grade (1-12)")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default: the model family's)")
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--repetition-penalty", type=float, default=None)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--device", default=None, help="cuda | mps | cpu (default: best available)")
    p.add_argument("--lessons", default=None, metavar="SRC",
                   help="answer from the lessons of this source (sample | hub | a folder or file | subset:NAME; "
                        "default: the app's default source), or 'off'")
    p.add_argument("--endpoint", default=None, help="an OpenAI-compatible server, e.g. http://host:8000/v1 "
                                                    "(default: $SQA_TUTOR_ENDPOINT)")
    p.add_argument("--endpoint-model", default=None, help="the model name on that server "
                                                          "(default: $SQA_TUTOR_ENDPOINT_MODEL)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from core.data.lessons import lesson_index
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT, with_grade
    from core.evaluation.capability import default_format, model_family
    from core.evaluation.grounded_choice import K_LESSONS
    from core.evaluation.grounding import tutor_reply
    from core.models.obtain import resolve_model
    from core.serving.chat import clean_input, get_model, sampling_defaults
    from core.serving.endpoint import MODEL_ENV, endpoint_from_env, endpoint_turn, make_endpoint

    chosen = {k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p),
                                ("repetition_penalty", args.repetition_penalty),
                                ("max_new_tokens", args.max_new_tokens)) if v is not None}
    settings = replace(sampling_defaults(model_family(args.model)), **chosen)
    system = with_grade(DEFAULT_SYSTEM_PROMPT if args.system is None else args.system, args.grade)
    endpoint = (make_endpoint(args.endpoint, args.endpoint_model or os.environ.get(MODEL_ENV, ""))
                if args.endpoint else endpoint_from_env())
    say = lambda m: print(m, file=sys.stderr)
    loaded = get_model(resolve_model(args.model, progress=say), device=args.device)
    off = str(args.lessons).strip().lower() == "off"
    index = None if off else lesson_index(args.lessons, progress=say)
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
        lessons = index.retrieve(question, K_LESSONS) if index and not endpoint else []
        turn = endpoint_turn(loaded, endpoint, system, history, question, settings) if endpoint else \
            tutor_reply(loaded, system, history, question, settings, fmt=default_format(args.model),
                        lessons=lessons, progress=say)
        for delta in turn.deltas:
            answer.append(delta)
            print(delta, end="", flush=True)
        print()
        if turn.abstained:
            say(f"Not sure (confidence {turn.confidence:.0%}, below the calibrated threshold): no answer asserted.")
        say(turn.lesson_note() or ("No lesson (grounding off)." if off or endpoint else "No lesson matched this question."))
        if not interactive:
            return 0
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": "".join(answer)}]
