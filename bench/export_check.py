"""Does an exported GGUF answer like the model it came from? SmolLM2-135M-Instruct (or any llama-family
folder) exported by core.models.export at f16 and q8_0, loaded back with transformers' GGUF loader, and
compared with the original on the same prompts: file size, export time, largest logit difference, and how
often the next token and the answer letter stay the same.

    python -m bench.export_check --folder models/smollm2                     # a transformers folder
    python -m bench.export_check --gguf path/to/SmolLM2-135M-Instruct.Q4_1.gguf  # saved as a folder first

The reference is the model as transformers holds it in fp32 (for `--gguf`, the Q4_1 file dequantized).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "scienceqa"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.export_check")
    ap.add_argument("--folder", type=Path, default=None)
    ap.add_argument("--gguf", type=Path, default=None)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.data.prompts import get_format
    from core.data.records import LETTERS
    from core.data.sources import load_source
    from core.evaluation.scoring import EvalSettings, prompt_text
    from core.models.export import export_gguf

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            if args.gguf is None:
                ap.error("give --folder or --gguf")
            folder = Path(tmp) / "source"
            loaded = AutoModelForCausalLM.from_pretrained(args.gguf.parent, gguf_file=args.gguf.name,
                                                          dtype=torch.float32)
            # transformers will not save a model it loaded from a GGUF: the same weights in a plain model
            plain = type(loaded)(loaded.config)
            plain.load_state_dict(loaded.state_dict())
            plain.save_pretrained(folder)
            del loaded, plain
            AutoTokenizer.from_pretrained(args.gguf.parent, gguf_file=args.gguf.name).save_pretrained(folder)
        ref = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        tok = AutoTokenizer.from_pretrained(folder)
        questions = load_source(str(SHARED / "test_qcm.jsonl"))[: args.questions]
        prefix = get_format("paper").answer_prefix
        prompts = [tok(prompt_text(tok, q, "paper", EvalSettings()) + prefix, add_special_tokens=False)["input_ids"]
                   for q in questions]
        letter_ids = [[tok.encode(prefix + L, add_special_tokens=False)[-1] for L in LETTERS[:len(q.choices)]]
                      for q in questions]
        print(f"{folder.name}: {sum(p.numel() for p in ref.parameters()):,} parameters; {len(prompts)} official "
              f"test prompts ({sum(map(len, prompts)):,} positions); {args.threads} CPU threads, shared machine\n")
        with torch.no_grad():  # the reference once, for both quantisations
            refs = [ref(torch.tensor([ids])).logits[0] for ids in prompts]  # each (T, V)
        del ref
        print("| quant | file | export s | max logit diff (of max logit) | same next token | same answer letter |")
        print("|---|---:|---:|---:|---:|---:|")
        for quant in ("f16", "q8_0"):
            t0 = time.perf_counter()
            result = export_gguf(folder, Path(tmp) / quant / "m.gguf", quant)
            seconds = time.perf_counter() - t0
            back = AutoModelForCausalLM.from_pretrained(result.gguf.parent, gguf_file=result.gguf.name,
                                                        dtype=torch.float32).eval()
            worst, scale, same_tok, total_tok, same_letter = 0.0, 0.0, 0, 0, 0
            with torch.no_grad():
                for ids, letters, a in zip(prompts, letter_ids, refs):
                    b = back(torch.tensor([ids])).logits[0]  # (T, V)
                    worst, scale = max(worst, (a - b).abs().max().item()), max(scale, a.abs().max().item())
                    same_tok += (a.argmax(-1) == b.argmax(-1)).sum().item()
                    total_tok += a.shape[0]
                    same_letter += int(a[-1, letters].argmax() == b[-1, letters].argmax())
            print(f"| {quant} | {result.bytes / 2**20:.1f} MiB | {seconds:.1f} | {worst:.3f} ({100 * worst / scale:.2f}%) "
                  f"| {100 * same_tok / total_tok:.2f}% | {same_letter}/{len(prompts)} |")
            del back


if __name__ == "__main__":
    main()
