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
import models_ui
from core import access
from core.errors import StudioError
from core.hub import OFFLINE_HELP, hub_reachable
from core.models import jobs as model_jobs
from core.models.catalogue import display_name, list_models
from core.models.families import named as family_named
from core.models.jobs import ModelRequest, exportable_first
from core.models.locations import registered_folders
from core.models.presets import PRESETS
from models_ui import BADGES, COLORS, KIND_LABELS, fmt_params, fmt_size

st.set_page_config(page_title="Models · ScienceQA Tutor Studio", page_icon=":material/neurology:", layout="wide")
actor = admin_ui.actor()
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
models_ui.memory_calculator(entries)
