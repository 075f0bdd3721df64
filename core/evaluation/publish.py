"""Push a training run's model to the Hugging Face Hub, with a model card.

What is uploaded: the weights, config, tokenizer and chat template of `<run>/model`, the training
config (`training_config.json`), and a README.md model card: the training config, the evaluation
table (every finished evaluation of this run, and the in-training validation numbers), how to chat
with it through its chat template, and ScienceQA's licence (CC BY-NC-SA 4.0: non-commercial).
The card is built offline (`build_model_card`, `stage_upload`); `push_run` needs a token
(`core.hub.get_token`), which goes to the Hub client only and is never written anywhere.

    python -m core publish .studio/runs/20260101-120000 --repo you/scienceqa-tutor
    python -m core publish run:20260101-120000 --repo you/scienceqa-tutor --dry-run OUT_DIR
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from core.errors import StudioError
from core.files import atomic_dir, write_json_atomic, write_text_atomic
from core.home import area
from core.jobs import runs
from core.models.families import GENERIC, family_of

MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "chat_template.jinja", "studio.json")
WEIGHT_SUFFIXES = (".safetensors",)
LICENSE_NOTE = ("Fine-tuned on [ScienceQA](https://scienceqa.github.io/) (Lu et al., NeurIPS 2022), which is "
                "licensed **CC BY-NC-SA 4.0**: this model is a derivative for **non-commercial** use, shared "
                "under the same licence.")
HF_HELP = ("No Hugging Face token: set the HF_TOKEN environment variable (a token with write access, from "
           "https://huggingface.co/settings/tokens) or run `huggingface-cli login`, then push again.")


def run_folder(spec: str | Path) -> Path:
    """A run folder from `run:<id>`, a run id, or a path."""
    from core.jobs.runs import model_dir, resolve_run

    path = resolve_run(spec)
    if not (model_dir(path) / "config.json").is_file():
        raise StudioError(f"{path.name} has no finished model (model/config.json); only finished runs can be "
                          "published.")
    return path


def run_evaluations(run_dir: Path) -> list[dict[str, Any]]:
    """Summaries of every finished evaluation of this run's model (newest first)."""
    from core.evaluation.jobs import load_results
    from core.jobs.runs import list_runs

    names = {f"run:{run_dir.name}", str(runs.model_dir(run_dir)), str(runs.model_dir(run_dir).resolve())}
    out = []
    for job in list_runs(area("evals")):
        req = job.config.get("request") or {}
        if req.get("model") in names and runs.has_results(job.run_dir):
            _, summary = load_results(job.run_dir)
            out.append({"request": req, "summary": summary})
    return out


def _base_model_name(model: str) -> str:
    """A Hub id as is; a local path reduced to its folder name (no local paths in a public card)."""
    from core.models.locations import HUB_ID

    return model if HUB_ID.match(model or "") and not Path(model).exists() else Path(str(model)).name


def _in_training_eval(run_dir: Path) -> dict[str, Any] | None:
    status = runs.read_status_raw(run_dir)
    if status.get("best_eval_accuracy") is None and status.get("best_eval_loss") is None:
        return None
    return {"loss": status.get("best_eval_loss"), "accuracy": status.get("best_eval_accuracy"),
            "steps": status.get("step")}


def build_model_card(run_dir: Path, repo_id: str) -> str:
    """The README.md of the uploaded model: front matter, usage, training config, evaluations, licence."""
    from core.evaluation.reports import to_markdown

    run_dir = Path(run_dir)
    config = runs.read_config(run_dir) if runs.has_config(run_dir) else {}
    recipe = config.get("recipe") or {}
    base = _base_model_name(str(config.get("model", "")))
    family = family_of(runs.model_dir(run_dir))
    front = ["---", "license: cc-by-nc-sa-4.0", "library_name: transformers", "pipeline_tag: text-generation",
             "datasets:", "- derek-thomas/ScienceQA", "language:", "- en", "tags:",
             *([f"- {family.name}"] if family is not GENERIC else []), "- scienceqa", "- education"]
    if "/" in base:
        front.append(f"base_model: {base}")
    front.append("---")
    lines = front + ["", f"# {repo_id.split('/')[-1]}", "",
                     f"A science tutor for school students: {family.sentence} (`{base or 'unknown base'}`) "
                     f"fine-tuned on ScienceQA multiple-choice questions with ScienceQA Tutor Studio (run "
                     f"`{run_dir.name}`).",
                     "", "## Use", "", "The model carries its chat template"
                     + (f"; a reply ends at `{family.end_of_turn}`." if family.end_of_turn else "."),
                     "", "```python",
                     "from transformers import AutoModelForCausalLM, AutoTokenizer",
                     f'tok = AutoTokenizer.from_pretrained("{repo_id}")',
                     f'model = AutoModelForCausalLM.from_pretrained("{repo_id}")',
                     'messages = [{"role": "system", "content": ' + json.dumps(config.get("system_prompt") or "") + "},",
                     '            {"role": "user", "content": "Question: Which is a mammal?\\nContext: N/A\\n'
                     'Options: (A) shark (B) dolphin"}]',
                     "ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\")",
                     "out = model.generate(ids, max_new_tokens=128, eos_token_id=tok.eos_token_id)",
                     "print(tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True))", "```", "",
                     "## Training", "", "| setting | value |", "|---|---|"]
    settings = {"base model": base, "data": config.get("data"), "prompt format": config.get("format"),
                "system prompt": config.get("system_prompt"), "recipe": recipe.get("name"),
                "optimizer": recipe.get("optimizer"), "learning rate": recipe.get("lr"),
                "batch size": recipe.get("batch_size"), "epochs": recipe.get("epochs"),
                "max sequence length": recipe.get("max_seq_len"), "LoRA": recipe.get("lora"),
                "time budget (minutes)": config.get("minutes"), "seed": recipe.get("seed")}
    lines += [f"| {k} | {_cell(v)} |" for k, v in settings.items() if v not in (None, "")]
    lines += ["", "The full configuration is in `training_config.json`.", "", "## Evaluation", ""]
    evals = run_evaluations(run_dir)
    for e in evals:
        req = e["request"]
        title = f"ScienceQA {req.get('data')}" + (f" ({req.get('split')} split)" if req.get("split") else "")
        lines.append(to_markdown(e["summary"], title=title).replace("## ", "### ", 1))
    if evals:  # the report card against the model it was fine-tuned from, where both were evaluated alike
        from core.evaluation.comparison import stored_report_card
        from core.evaluation.report_card import to_markdown as card_markdown

        card = stored_report_card(f"run:{run_dir.name}", str(config.get("model", "")))
        if card is not None:
            lines.append(card_markdown(card, title=f"Report card against the base model ({base})")
                         .replace("## ", "### ", 1).replace("\n### By ", "\n#### By "))
    held_out = _in_training_eval(run_dir)
    if held_out:
        acc = held_out["accuracy"]
        lines += ["### Held-out validation during training", "",
                  "| best eval loss | best eval accuracy |", "|---|---|",
                  f"| {_cell(held_out['loss'])} | {'–' if acc is None else f'{100 * acc:.2f}%'} |", ""]
    if not evals and not held_out:
        lines += ["Not evaluated yet (run the Compare page or `python -m core eval --model run:"
                  f"{run_dir.name} ...` before publishing).", ""]
    lines += ["## Licence and data", "", LICENSE_NOTE, "",
              "Answers can be wrong: check them before relying on them in class.", ""]
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def stage_upload(run_dir: Path, out: Path, repo_id: str, overwrite: bool = True) -> Path:
    """Write the folder to upload (model files, training_config.json, README.md) to `out`."""
    run_dir = Path(run_dir)
    model = runs.model_dir(run_dir)
    with atomic_dir(Path(out), overwrite=overwrite) as tmp:
        for f in sorted(model.iterdir()):
            if f.is_file() and (f.name in MODEL_FILES or f.suffix in WEIGHT_SUFFIXES
                                or f.name == "model.safetensors.index.json"):
                shutil.copyfile(f, tmp / f.name)
        if runs.has_config(run_dir):
            write_json_atomic(tmp / "training_config.json", runs.read_config(run_dir))
        write_text_atomic(tmp / "README.md", build_model_card(run_dir, repo_id))
    return Path(out)


def push_run(run_dir: Path | str, repo_id: str, private: bool = True) -> str:
    """Upload a finished run's model to `repo_id` (created if needed); returns the model's URL."""
    from core import access, hub
    from core.models.locations import HUB_ID

    access.require(None, "Publishing to the Hub")
    if not HUB_ID.match(repo_id or ""):
        raise StudioError(f"'{repo_id}' is not a Hub repo id; use owner/name (e.g. you/scienceqa-tutor).")
    run_dir = run_folder(run_dir)
    token = hub.get_token()
    if not token:
        raise StudioError(HF_HELP)
    hub.require_hub(f"push {run_dir.name} to {repo_id}")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    staging = area("cache") / "publish" / run_dir.name
    stage_upload(run_dir, staging, repo_id)
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(staging), repo_id=repo_id, repo_type="model",
                          commit_message=f"Upload ScienceQA tutor from run {run_dir.name}")
    except (HfHubHTTPError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StudioError(f"Could not push to {repo_id}: {first}. Check that the token can write to it.") from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(getattr(url, "url", None) or f"https://huggingface.co/{repo_id}")
