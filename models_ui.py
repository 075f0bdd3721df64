"""Streamlit parts of the Models page: the catalogue's labels and sizes, and the memory calculator.

UI only: the estimates are core.models.memory's, the catalogue core.models.catalogue's.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.models.catalogue import model_shape
from core.models.memory import OPTIMIZERS, GiB, TrainSetup, available_memory, estimate_inference, estimate_training

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


def memory_calculator(entries: list) -> None:
    """Before launching a run: weights, gradients, optimizer state, activations and logits for a batch."""
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
