"""Models page: the catalogue (the pretrained SmolLM2 preset, the tiny preset, nanochat checkpoints on the
Hub, local folders and GGUF files, trained runs), importing the preset or a GGUF file, creating the tiny
model or converting a checkpoint, GGUF export, and a memory calculator for a training setup.
Logic lives in core.models.catalogue, core.models.jobs (every import, conversion and export runs as a
background job), core.models.export and core.models.memory; this file only lays out widgets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import admin_ui
import jobs_ui
from core import access
from core.errors import StudioError
from core.models import jobs as model_jobs
from core.models.catalogue import display_name, list_models, model_shape, registered_folders
from core.models.families import named as family_named
from core.models.hub import OFFLINE_HELP, hub_reachable
from core.models.jobs import ModelRequest, exportable_first
from core.models.presets import PRESETS
from core.models.memory import (GiB, OPTIMIZERS, TrainSetup, available_memory, estimate_inference,
                         estimate_training)

st.set_page_config(page_title="Models · ScienceQA Tutor Studio", page_icon=":material/neurology:", layout="wide")
actor = admin_ui.actor()
BADGES = {"ready": "ready", "cached": "cached", "installed": "ready to import", "downloadable": "downloadable",
          "offline": "needs internet", "missing": "not created"}
COLORS = {"ready": "#d3f0dc", "cached": "#d3f0dc", "installed": "#dbe9fb", "downloadable": "#dbe9fb",
          "offline": "#eeeeee", "missing": "#f6f0d8"}
KIND_LABELS = {"hub-raw": "Hub · nanochat", "hub-hf": "Hub · transformers", "local": "local folder",
               "run": "training run", "tiny": "tiny preset", "preset": "pretrained preset"}


def fmt_params(n: int | None) -> str:
    return "–" if n is None else (f"{n / 1e6:,.1f} M" if n >= 1e6 else f"{n / 1e3:,.0f} k")


def fmt_mem(n: int) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB else f"{n / 2**20:,.1f} MiB"


def fmt_size(n: int | None) -> str:
    return "–" if not n else (f"{n / GiB:.2f} GB" if n >= 0.1 * GiB else f"{n / 2**20:.1f} MB")


st.title(":material/neurology: Models")
st.caption("Base models to fine-tune: SmolLM2-135M, a small pretrained chat model that works offline; "
           "nanochat checkpoints and GGUF files (imported once to transformers format); a tiny model trained "
           "from scratch here; and the models your training runs produced.")
online = hub_reachable()
if not online:
    st.info(OFFLINE_HELP, icon=":material/cloud_off:")


def finished(run_dir: Path) -> None:
    if (result := model_jobs.result_of(run_dir)).get("gguf"):
        st.session_state["export_result"] = {"gguf": result["gguf"], "modelfile": result["modelfile"]}
    else:
        st.success(access.shown(model_jobs.done_message(run_dir), actor), icon=":material/check_circle:")


jobs_ui.reattach("model_job", "model")
jobs_ui.follow("model_job", actor, finished)  # the job running now (live), or how the last one ended

# --- catalogue ------------------------------------------------------------------------------------
entries = list_models()
st.subheader("Catalogue")
if problem := registered_folders()[1]:
    st.warning(access.shown(problem, actor), icon=":material/warning:")
frame = pd.DataFrame([{
    "name": access.shown(display_name(e.name), actor), "kind": KIND_LABELS.get(e.kind, e.kind), "family": e.family or "unknown",
    "parameters": fmt_params(e.parameters),
    "availability": BADGES.get(e.availability, e.availability), "size on disk": fmt_size(e.size_bytes),
    "source": access.shown(e.source.removeprefix("https://"), actor), "note": access.shown(e.note, actor)}
    for e in entries]).set_index("name")
color_of = {BADGES[k]: c for k, c in COLORS.items()}
st.table(frame.style.map(lambda v: f"background-color: {color_of.get(v, '')}", subset=["availability"]))
with st.expander("What the families are"):
    for name in dict.fromkeys(e.family or "unknown" for e in entries):
        st.markdown(f"**{name}**: {family_named(name if name != 'unknown' else None).sentence}.")

# --- add a model (each action is a background job: core.models.jobs) ---------------------------------
st.subheader("Add a model")
may, why = jobs_ui.allowed(actor, "Adding or exporting a model")


def go(request: ModelRequest) -> None:
    if jobs_ui.submit(request, actor, "model_job"):
        st.rerun()


preset_tab, tiny_tab, convert_tab, gguf_tab = st.tabs([
    ":material/school: SmolLM2 (pretrained, offline)", ":material/bolt: Tiny preset (offline)",
    ":material/swap_horiz: Convert a checkpoint", ":material/upload_file: Import a GGUF file"])
with preset_tab:
    smol = PRESETS["smollm2-135m"]
    entry = next(e for e in entries if e.name == smol.name)
    st.caption(f"SmolLM2-135M-Instruct: {smol.note}. {fmt_params(smol.parameters)} parameters, licence {smol.licence}; it ships inside "
               f"{smol.source}, so no internet is needed. It is imported once into the app's home folder "
               "(about a minute), then the Train, Compare and Tutor pages use it.")
    if entry.availability == "missing":
        st.warning(f"Not installed here. Install it with `{smol.install}`.", icon=":material/warning:")
    elif entry.availability == "ready":
        st.success(f"Imported and ready ({fmt_size(entry.size_bytes)} on disk).", icon=":material/check_circle:")
    elif st.button("Import SmolLM2-135M", type="primary", key="import_preset", disabled=not may, help=why or None):
        go(ModelRequest("prepare", smol.name))

with tiny_tab:
    st.caption("A randomly initialised NanoChat with a tokenizer trained on the sample's train split: "
               "the whole loop runs on a laptop CPU. Replaces the current tiny model.")
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    size = c1.segmented_control("Size", ["xs", "small", "medium"], default="small", key="tiny_size",
                                help="xs ≈ 0.1 M parameters (seconds), small ≈ 3-5 M, medium ≈ 15 M")
    seed = c2.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="tiny_seed")
    if c3.button("Create tiny model", type="primary", key="create_tiny", width="stretch", disabled=not may,
                 help=why or None):
        go(ModelRequest("tiny", size=size or "small", seed=int(seed)))

with convert_tab:
    st.caption("A Hub repo id (raw nanochat files or transformers format) or a local folder. Raw nanochat "
               "checkpoints are converted once (latest step) and cached under the app's home folder.")
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    src = c1.text_input("Hub repo id or local folder", placeholder="sdobson/nanochat  or  /path/to/nanochat_run",
                        key="convert_src")
    stage = c2.selectbox("Stage", ["auto", "sft", "rl", "mid", "base"], key="convert_stage",
                         help="Which nanochat stage to take when a checkpoint holds several (auto: sft > rl > mid > base)")
    if c3.button("Convert", type="primary", key="convert", disabled=not may or not src.strip(), width="stretch",
                 help=why or None):
        go(ModelRequest("prepare", src, stage=stage))

with gguf_tab:
    st.caption("A .gguf file of a llama or Qwen2 chat model (as llama.cpp uses them). Its weights are "
               "dequantized to full precision and saved once, with the family's chat template, under the "
               "app's home folder.")
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    gguf_src = c1.text_input("Path of a .gguf file", placeholder="/path/to/model.Q8_0.gguf", key="gguf_src")
    if c2.button("Import", type="primary", key="import_gguf", disabled=not may or not gguf_src.strip(),
                 width="stretch", help=why or None):
        try:
            go(ModelRequest("import", gguf_src))
        except StudioError as e:
            admin_ui.error(e, actor)

# --- export -----------------------------------------------------------------------------------------
st.subheader("Use a model outside this app")
st.caption("One GGUF file that llama.cpp, Ollama and LM Studio run on a school laptop, with an Ollama "
           "Modelfile beside it (chat format, stop token, the tutor's settings). For llama-family models "
           "(SmolLM2 and the runs fine-tuned from it); llama.cpp cannot run NanoChat models.")
exportable = exportable_first([e.name for e in entries if e.availability in ("ready", "cached")])
if not exportable:
    st.info("No model on this machine yet: add one above or train one.")
else:
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Model", exportable, key="export_model", format_func=display_name)
    quant = c2.segmented_control("File size", ["q8_0", "f16"], default="q8_0", key="export_quant",
                                 format_func={"q8_0": "smaller (8-bit)", "f16": "exact (16-bit)"}.get,
                                 help="8-bit (q8_0) is about half the size of 16-bit with nearly the same answers")
    if c3.button("Export to GGUF", type="primary", key="export", width="stretch", disabled=not may, help=why or None):
        go(ModelRequest("export", pick, quant=quant or "q8_0"))
    if (done := st.session_state.get("export_result")) and Path(done["gguf"]).exists():
        gguf, modelfile = Path(done["gguf"]), Path(done["modelfile"])
        st.success(f"{gguf.name} ({fmt_size(gguf.stat().st_size)}) is in {access.shown(str(gguf.parent), actor)}.",
                   icon=":material/check_circle:")
        d1, d2 = st.columns(2)
        d1.download_button("Download the GGUF", data=gguf.read_bytes(), file_name=gguf.name, key="dl_gguf",
                           icon=":material/download:", width="stretch")
        d2.download_button("Download the Modelfile", data=modelfile.read_bytes(), file_name="Modelfile",
                           key="dl_modelfile", icon=":material/download:", width="stretch")
        st.caption("With Ollama, both files in one folder:")
        st.code("ollama create scienceqa-tutor -f Modelfile\nollama run scienceqa-tutor", language="bash")

# --- memory calculator ----------------------------------------------------------------------------
st.subheader("Memory estimate")
st.caption("Before launching a run: weights, gradients, optimizer state, activations and logits for a "
           "batch. An estimate from the model's shape (within ~10% of what autograd keeps), not a measurement.")
shapes = {e.name: s for e in entries if (s := model_shape(e)) is not None}
if not shapes:
    st.info("No model with a known shape yet: create the tiny model above.")
else:
    names = list(shapes)
    c1, c2, c3, c4 = st.columns(4)
    pick = c1.selectbox("Model", names, key="mem_model")
    batch = c2.number_input("Batch size", min_value=1, max_value=1024, value=8, step=1, key="mem_batch")
    seq_len = c3.select_slider("Sequence length", [128, 256, 512, 1024, 2048, 4096], value=512, key="mem_seq")
    dtype = c4.selectbox("Precision", ["bfloat16", "float16", "float32"], key="mem_dtype")
    c1, c2, c3, c4 = st.columns(4)
    optimizer = c1.selectbox("Optimizer", list(OPTIMIZERS), key="mem_opt",
                             format_func={"adamw": "AdamW", "muon": "Muon (+AdamW for embeddings)", "sgd": "SGD"}.get)
    ckpt = c2.toggle("Gradient checkpointing", key="mem_ckpt")
    lora = c3.toggle("LoRA", key="mem_lora")
    rank = c4.number_input("LoRA rank", min_value=1, max_value=256, value=16, step=1, key="mem_rank", disabled=not lora)
    shape = shapes[pick]
    setup = TrainSetup(batch=int(batch), seq_len=int(seq_len), dtype=dtype, optimizer=optimizer,
                       grad_checkpointing=ckpt, lora=lora, lora_rank=int(rank))
    device_name, free = available_memory()
    cuda = "GPU" in device_name
    train = estimate_training(shape, setup, cuda=cuda)
    infer = estimate_inference(shape, batch=int(batch), seq_len=int(seq_len), dtype=dtype, cuda=cuda)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Training needs", fmt_mem(train.total))
    m2.metric("Inference needs", fmt_mem(infer.total))
    m3.metric("Trainable parameters", fmt_params(train.trainable))
    m4.metric(f"Free on {device_name}", "unknown" if free is None else f"{free / GiB:.1f} GiB")
    if free is not None and train.total > free:
        st.warning("This setup will probably not fit here: try gradient checkpointing, LoRA, or a smaller "
                   "batch or sequence length.", icon=":material/warning:")
    rows = {k: {"training": fmt_mem(v), "inference": "–"} for k, v in train.parts.items()}
    for k, v in infer.parts.items():
        rows.setdefault(k, {"training": "–"})["inference"] = fmt_mem(v)
    rows["total"] = {"training": fmt_mem(train.total), "inference": fmt_mem(infer.total)}
    st.table(pd.DataFrame.from_dict(rows, orient="index"))
    if train.notes:
        st.caption(" · ".join(train.notes))
