"""The tiny offline preset: a small NanoChat trained from scratch, so the whole loop runs on a CPU.

A byte-level BPE tokenizer is trained in seconds on the chosen questions (rendered in every prompt
format), with nanochat's special tokens and chat template; the model is a randomly initialised
model of the nanochat family (core.models.families) with a few million parameters, saved like any other.

    python -m core model tiny --data sample --out DIR
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.data.prompts import DEFAULT_SYSTEM_PROMPT, FORMATS, to_messages
from core.data.records import Question, content_hash
from core.files import atomic_dir
from core.models.families import named
from core.models.manifest import Manifest, write_manifest

# nanochat's split pattern (GPT-4 style, numbers split into groups of 1-2 digits).
SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
)


@dataclass(frozen=True)
class TinySpec:
    vocab_size: int = 4096
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    max_positions: int = 1024

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be divisible by num_heads")
        if (self.hidden_size // self.num_heads) % 2:
            raise ValueError("the head size (hidden_size / num_heads) must be even for rotary embeddings")
        if self.vocab_size < 300:
            raise ValueError("vocab_size must be at least 300 (256 bytes + special tokens + merges)")


SIZES: dict[str, TinySpec] = {
    "xs": TinySpec(vocab_size=512, hidden_size=64, num_layers=2, num_heads=2, max_positions=1024),  # tests
    "small": TinySpec(),  # ~5.2M parameters: the offline default
    "medium": TinySpec(vocab_size=8192, hidden_size=384, num_layers=6, num_heads=6),
}


def _training_texts(questions: list[Question]) -> list[str]:
    texts = [DEFAULT_SYSTEM_PROMPT]
    for q in questions:
        for fmt in FORMATS:
            texts.extend(m["content"] for m in to_messages(q, fmt, system_prompt=None))
    return texts


def train_tokenizer(questions: list[Question], vocab_size: int):
    """A byte-level BPE fast tokenizer with nanochat's special tokens and chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    nanochat = named("nanochat")
    special = list(nanochat.special_tokens)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(_training_texts(questions), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=nanochat.bos, eos_token=nanochat.end_of_turn, pad_token=nanochat.end_of_turn,
        additional_special_tokens=special[1:], clean_up_tokenization_spaces=False,
    )
    fast.chat_template = nanochat.chat_template(fast)
    return fast


def build_tiny_model(tokenizer, spec: TinySpec, seed: int = 0):
    return named("nanochat").new_model(
        seed=seed, vocab_size=len(tokenizer), hidden_size=spec.hidden_size, intermediate_size=4 * spec.hidden_size,
        num_hidden_layers=spec.num_layers, num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads, max_position_embeddings=spec.max_positions,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=None,  # a pad id would make the embedding a padding_idx whose row never learns
        tie_word_embeddings=False, final_logit_softcapping=15.0,
    )


def create_tiny(questions: list[Question], out: Path, size: str | TinySpec = "small", seed: int = 0,
                source: str = "", overwrite: bool = False) -> Path:
    """Train a tokenizer on `questions`, build a random-init tiny NanoChat, save both to `out`."""
    from core import access

    access.require(None, "Creating a tiny model")
    if not questions:
        raise ValueError("the tiny model's tokenizer needs at least one question to train on")
    spec = SIZES[size] if isinstance(size, str) else size
    started = time.time()
    tokenizer = train_tokenizer(questions, spec.vocab_size)
    model = build_tiny_model(tokenizer, spec, seed)
    out = Path(out)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, Manifest(
            kind="tiny", source=source, family="nanochat", pretrained=False,
            parameters=sum(p.numel() for p in model.parameters()),
            extra={"data_hash": content_hash(questions), "spec": asdict(spec), "seed": seed,
                   "seconds": round(time.time() - started, 2)}))
    return out
