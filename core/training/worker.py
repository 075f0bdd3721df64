"""The training worker: one run folder in, a fine-tuned model folder out. Runs in its own process.

    python -m core.training.worker RUN_DIR [--resume]

Reads `config.json` (a `core.training.recipes.TrainConfig`), waits for the device slot (state `queued`),
then trains with assistant-only loss (`core.training.batching.TargetLoss`), gradient accumulation (loss
normalised by the number of target tokens in the whole accumulated batch), autocast on GPU (fp32 on
CPU), optional gradient checkpointing, LoRA and compiled blocks (`torch.compile`). It appends
metrics, evaluates (loss + categorical accuracy) every `eval_every` steps, saves
`checkpoints/step_<n>/` every `save_every` steps and on a graceful stop (keeping the last
`keep_checkpoints`), and writes `model/` at the end. Each evaluation's metrics line carries its
`eval_seconds`; a finished run's status its `train_seconds` (optimizer steps), `eval_seconds` (the final
evaluation included) and `run_seconds` (from the first step to the saved model), this worker's (since the
resume for a resumed run), beside `eval_share`. A `stop` request (or SIGTERM)
saves a checkpoint and ends `stopped`; `cancel` ends `stopped` without one; an error ends `failed`.

DDP: under `torchrun`/`accelerate launch` (WORLD_SIZE > 1) each rank trains on every WORLD_SIZE-th
batch of the same order, the model is wrapped in DistributedDataParallel (gradients averaged), and
only rank 0 writes to the run folder or takes the device slot.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from core import access
from core.errors import StudioError
from core.jobs import runner, runs
from core.progress import echo
from core.training.batching import Example, TargetLoss, collate, encode_all, make_batches, shuffled_options
from core.training.letters import guessing_loss, history_warning, prior_loss
from core.training.machine import pick_threads, record_step_time
from core.training.progress import EVAL_COST, eval_interval, eval_period, eval_plan, learning_note
from core.training.recipes import TrainConfig
from core.training.setup import (
    Data,
    build_optimizers,
    checkpoints,
    clean_partial_writes,
    compile_blocks,
    load_checkpoint,
    load_data,
    load_for_training,
    lr_factor,
    save_checkpoint,
    save_final_model,
)
from core.training.tracking import Tracker
from core.training.validation import evaluate_slice

OOM_HINT = ("Out of memory. Try a smaller batch size (raise grad_accum to keep the effective batch), a shorter "
            "max_seq_len, gradient checkpointing, or LoRA.")
TEST_OOM_ENV = "SQA_TEST_OOM_AT_STEP"  # test hook: raise torch.OutOfMemoryError at this step
GO, STOP, BUDGET_SPENT = 0, 1, 2
StepHook = Callable[[int, int, dict], None]


class EvalInterrupted(Exception):
    """A stop request arrived while the run was evaluating: the evaluation is abandoned within a batch."""


class Trainer:
    def __init__(self, run_dir: Path, cfg: TrainConfig, resume: bool):
        self.run_dir, self.cfg, self.r = run_dir, cfg, cfg.recipe
        self.rank = int(os.environ.get("RANK", 0))
        self.world = int(os.environ.get("WORLD_SIZE", 1))
        self.main = self.rank == 0
        self.resume = resume
        self.stop_flag = False
        self.last_status = 0.0
        self.best: dict[str, float] = {}
        self.started = time.time()
        self.on_step: StepHook | None = None  # a foreground run's progress bar (core.commands.train)
        self.job: runner.Job | None = None  # set by the runner on rank 0
        self.tracker = Tracker(run_dir, (), {})  # opened in setup() when the config asks for trackers
        self.step_times: list[float] = []  # seconds of each optimizer step (no evaluation, no saving)
        self.eval_k: int | None = None  # questions per in-training evaluation (eval_plan), None until planned
        self.question_seconds: float | None = None  # measured cost of one evaluated question
        self.eval_seconds = 0.0  # seconds this worker spent in in-training evaluations (abandoned ones included)
        self.reserve = 0.0  # seconds a budgeted run keeps for its final evaluation
        self.letter_lines: dict = {}

    # -------------------------------------------------------------------------------- bookkeeping
    def log(self, msg: str) -> None:
        if self.main:  # echo: above the progress bar of a foreground run (core.progress)
            echo(f"[{time.strftime('%H:%M:%S')}] {msg}")

    def status(self, force: bool = False, **fields) -> None:
        now = time.time()
        if self.main and (force or now - self.last_status >= 1.0):
            runs.write_status(self.run_dir, **fields)
            self.last_status = now

    def metrics(self, rec: dict) -> None:
        if self.main:
            runs.append_metrics(self.run_dir, rec)
            self.tracker.log(rec)

    # --------------------------------------------------------------------------------------- run
    def load_model_and_checkpoint(self) -> tuple[Path | None, dict | None]:
        """The model (and optimizers) from the newest checkpoint that reads; a damaged one is logged and
        the one before it tried; without any, the base model from step 0."""
        for ck in checkpoints(self.run_dir) if self.resume else []:
            try:
                self.loaded, self.device = load_for_training(self.cfg, self.world, self.rank, ck)
                self.opts = build_optimizers(self.loaded.model, self.r)
                return ck, load_checkpoint(ck, self.opts)
            except torch.OutOfMemoryError:
                raise
            except Exception as e:  # noqa: BLE001 - any damage (torn weights, pickles, JSON): try the one before
                self.log(f"checkpoint {ck.name} cannot be read ({type(e).__name__}: {str(e)[:200]}); "
                         "trying the one before it")
        if self.resume:
            self.log("no checkpoint to resume from: starting again from step 0")
        self.loaded, self.device = load_for_training(self.cfg, self.world, self.rank, None)
        self.opts = build_optimizers(self.loaded.model, self.r)
        return None, None

    def setup(self) -> None:
        if self.main and self.cfg.report_to:
            self.tracker = Tracker(self.run_dir, self.cfg.report_to, self.cfg.to_dict(), resume=self.resume,
                                   group=self.cfg.sweep, log=self.log)
            if self.tracker.names:
                self.log(f"reporting metrics to {', '.join(self.tracker.names)}")
        if self.main:
            for gone in clean_partial_writes(self.run_dir):
                self.log(f"removed {gone}, left by an interrupted write")
        if self.device_type() == "cpu" and self.world == 1:
            threads, how = pick_threads()
            torch.set_num_threads(threads)
            self.log(f"using {how}")
        ck, state = self.load_model_and_checkpoint()
        self.model = self.loaded.model
        self.tok = self.loaded.tokenizer
        self.data: Data = load_data(self.cfg, self.tok)
        for line in self.data.notes:
            self.log(line)
        if not self.data.train:
            raise StudioError("No training examples: the data source is empty after splitting.")
        qs = self.data.train_questions
        self.letter_lines = {"answer_guess_loss": guessing_loss(qs),
                             "answer_prior_loss": prior_loss(qs, shuffled=self.r.shuffle_options)}
        if qs:
            self.log(f"answer-letter loss of a uniform guess {self.letter_lines['answer_guess_loss']:.3f}, of the letter "
                     f"prior alone {self.letter_lines['answer_prior_loss']:.3f}"
                     + ("; options shuffled in every epoch" if self.r.shuffle_options else ""))
        total = sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        if trainable < total:  # LoRA or freeze_fraction: say how much of the model learns
            self.log(f"training {trainable:,} of {total:,} parameters ({trainable / total:.0%}); the rest is frozen")
        self.amp_dtype = None
        if self.device.type == "cuda" and self.r.precision != "fp32":
            self.amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.r.precision)
            if self.amp_dtype is None:
                from core.models.devices import pick_dtype
                self.amp_dtype = pick_dtype(self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        # what the loop calls; shares the model's parameters
        self.train_model = TargetLoss(self.model, train_letters=self.r.answer_weight > 0)
        self.compiled = False
        if self.r.compile:
            loss = self.train_model
            self.train_model, note = compile_blocks(loss, self.device)
            self.compiled = self.train_model is not loss
            self.log(note)
        if self.world > 1:
            self.train_model = torch.nn.parallel.DistributedDataParallel(
                self.train_model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        lengths = [len(e) for e in self.data.train]
        micro_per_epoch = len(make_batches(lengths, self.r.batch_size, 0, self.r.group_by_length))
        self.steps_per_epoch = max(1, micro_per_epoch // (self.r.grad_accum * self.world))
        self.max_steps = None if self.cfg.minutes else max(1, math.ceil(self.r.epochs * self.steps_per_epoch))
        self.budget = self.cfg.minutes * 60 if self.cfg.minutes else None
        # a short run still shows several evaluation points (core.training.progress)
        self.eval_every = eval_interval(self.r.eval_every, self.max_steps)
        self.eval_period = eval_period(self.budget) if self.world == 1 else None  # ranks' clocks differ
        self.step, self.epoch, self.cursor, self.prior_elapsed = 0, 0, 0, 0.0
        if self.resume:
            state = state or {"step": 0, "epoch": 0, "cursor": 0, "elapsed": 0.0}
            self.step, self.epoch, self.cursor = state["step"], state["epoch"], state["cursor"]
            self.prior_elapsed, self.best = state["elapsed"], state.get("best", {})
            self.log(f"resumed from checkpoint step {self.step}")
            self.metrics({"step": self.step, "resumed_from": self.step, "time": time.time()})

    def device_type(self) -> str:
        from core.models.devices import pick_device

        try:
            return pick_device(self.cfg.device).type
        except Exception:  # noqa: BLE001 - an unavailable device fails in load_for_training with its own message
            return "cpu"

    def progress(self, elapsed: float) -> float:
        if self.budget:
            return min(1.0, elapsed / self.budget)
        return min(1.0, self.step / self.max_steps)

    def decide(self, p: float) -> int:
        """Go on, stop, or end: rank 0 decides for every rank (their clocks and file reads may differ)."""
        d = STOP if self.stop_wanted() else BUDGET_SPENT if p >= 1.0 else GO  # a stop that came first wins
        if self.world > 1:
            t = torch.tensor([d], device=self.device)
            torch.distributed.broadcast(t, 0)
            d = int(t.item())
        return d

    def set_lr(self, p: float) -> float:
        f = lr_factor(self.r, self.step, p)
        self.group_lrs: dict[str, float] = {}  # each optimizer group's actual rate, for the chart
        for opt in self.opts:
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * f
                self.group_lrs[f"lr:{g.get('name', 'AdamW')}"] = g["lr"]
        return f

    def epoch_examples(self) -> list[Example]:
        """This epoch's training examples: with `shuffle_options`, every question's options in a new
        seeded order (core.training.batching.shuffled_options), the same again when a run resumes."""
        if not self.r.shuffle_options or not self.data.train_questions:
            return self.data.train
        questions = shuffled_options(self.data.train_questions, self.r.seed, self.epoch)
        return encode_all(self.tok, questions, self.cfg.format, self.cfg.system_prompt, self.r.max_seq_len)[0]

    def batches(self):
        """Yield (epoch, cursor, accumulation group of micro-batches) from the saved position on."""
        while True:
            examples = self.epoch_examples()
            lengths = [len(e) for e in examples]
            order = make_batches(lengths, self.r.batch_size, self.r.seed * 1000 + self.epoch, self.r.group_by_length)
            group = self.r.grad_accum * self.world
            while self.cursor + group <= len(order):
                mine = order[self.cursor + self.rank: self.cursor + group: self.world]
                self.cursor += group
                yield [[examples[i] for i in b] for b in mine]
            self.epoch += 1
            self.cursor = 0

    def train_step(self, group) -> tuple[float, float, int, int, int, float | None]:
        """One optimizer step over `group` (gradient accumulation). What is minimised is the loss averaged
        over every target token, plus `answer_weight` x the answer letters' own loss averaged over the
        step's letters; what is returned and logged as `loss` is the first part alone."""
        pad = self.data.pad_id
        n_target = sum(e.n_target for b in group for e in b)
        n_letters = sum(1 for b in group for e in b if e.answer_at)
        if self.world > 1:
            t = torch.tensor([n_target, n_letters], device=self.device, dtype=torch.float32)
            torch.distributed.all_reduce(t)
            n_target, n_letters = (float(x) / self.world for x in t.tolist())  # DDP averages gradients over ranks
        weight = self.r.answer_weight if n_letters else 0.0
        loss_sum, tokens, padded, answer_sum, answers = 0.0, 0, 0, 0.0, 0
        for i, examples in enumerate(group):
            batch = {k: v.to(self.device) for k, v in collate(examples, pad).items()}
            sync = i == len(group) - 1 or self.world == 1
            ctx = self.train_model.no_sync() if not sync else contextlib.nullcontext()
            with ctx, torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                loss, letters, count = self.train_model(batch["input_ids"], batch["labels"], batch["answer_mask"])
                loss = loss / n_target
                objective = loss + weight * letters / n_letters if weight else loss
            (self.scaler.scale(objective) if self.scaler else objective).backward()
            answer_sum += float(letters.detach())
            answers += count
            loss_sum += loss.item()
            tokens += sum(len(e) for e in examples)
            padded += batch["input_ids"].numel()
        if self.scaler:
            for opt in self.opts:
                self.scaler.unscale_(opt)
        params = [p for p in self.model.parameters() if p.requires_grad]
        norm = torch.nn.utils.clip_grad_norm_(params, self.r.grad_clip if self.r.grad_clip > 0 else float("inf"))
        for opt in self.opts:
            if self.scaler:
                self.scaler.step(opt)
            else:
                opt.step()
            opt.zero_grad(set_to_none=True)
        if self.scaler:
            self.scaler.update()
        return loss_sum, float(norm), tokens, sum(len(b) for b in group), padded, (answer_sum / answers if answers else None)

    def stop_wanted(self) -> bool:
        return self.stop_flag or runs.stop_requested(self.run_dir)

    def interrupt(self) -> None:
        """Called between evaluation batches: a stop request ends the evaluation at once."""
        if self.stop_wanted():
            raise EvalInterrupted()

    def plan_evaluation(self) -> None:
        """Size the in-training evaluation to the run (core.training.progress.eval_plan) from the measured
        step time and, once known, the measured cost of an evaluated question."""
        if not self.step_times or not self.data.val_questions:
            return
        step_s = sorted(self.step_times)[len(self.step_times) // 2]
        question_s = self.question_seconds or step_s / self.r.effective_batch * EVAL_COST
        train_s = self.budget or (self.max_steps or 1) * step_s
        k, n = eval_plan(train_s, question_s, len(self.data.val_questions))
        if k != self.eval_k:
            self.log(f"evaluating {k} questions {n} times in the run (at most ~10% of its time; a step takes "
                     f"{step_s:.2f} s, a question ~{question_s:.2f} s)")
        self.eval_k = k
        if self.budget and self.world == 1:
            self.eval_period = self.budget / max(1, n)
            self.reserve = k * question_s  # the final evaluation fits inside the budget
        elif self.max_steps:
            self.eval_every = max(self.eval_every, self.max_steps // max(1, n))

    def evaluate(self) -> dict:
        if not self.main or not self.data.val:
            return {}
        k = self.eval_k or len(self.data.val_questions)
        self.status(force=True, message=f"evaluating {k} questions (Stop works here too)")
        self.model.eval()
        t = time.time()
        try:
            res = evaluate_slice(self.model, self.tok, self.data, self.cfg, self.device, self.amp_dtype, limit=k,
                                 interrupt=self.interrupt)
        finally:
            self.model.train()
            self.eval_seconds += time.time() - t
        self.question_seconds = (time.time() - t) / max(1, k)
        res["eval_seconds"] = round(time.time() - t, 3)  # in the metrics line: what this evaluation cost
        self.status(force=True, message="training")
        for k, better in (("eval_loss", min), ("eval_accuracy", max)):
            if res.get(k) is not None:
                self.best[k] = better(self.best.get(k, res[k]), res[k])
        self.log(f"eval step {self.step}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                                        for k, v in res.items()))
        warning = history_warning([res])
        if warning:
            self.log(warning)
        return res

    def best_fields(self) -> dict:
        return {"best_eval_loss": self.best.get("eval_loss"), "best_eval_accuracy": self.best.get("eval_accuracy")}

    def checkpoint(self, elapsed: float) -> None:
        if self.main:
            self.status(force=True, message="saving a checkpoint")
            save_checkpoint(self.run_dir, self.model, self.tok, self.opts, {
                "step": self.step, "epoch": self.epoch, "cursor": self.cursor, "elapsed": elapsed,
                "best": self.best}, keep=self.r.keep_checkpoints)
            self.log(f"checkpoint saved at step {self.step}")
            self.status(force=True, message="training")

    def run(self) -> str:
        """Train until the budget is spent or a stop is requested; returns the final state."""
        self.setup()
        t0 = time.time()
        oom_at = int(os.environ.get(TEST_OOM_ENV, "0") or 0)
        start_step, start_p = self.step, self.progress(self.prior_elapsed)
        self.model.train()
        self.status(force=True, pid=os.getpid(), started=self.started, step=self.step,
                    total=self.max_steps or 0, error="", progress=start_p, elapsed=self.prior_elapsed,
                    elapsed_at=t0, eta=None,
                    message="compiling the model (the first step takes longer)" if self.compiled else "training",
                    resumed_from=self.step if self.resume else None, **self.letter_lines)
        self.log(f"training: {len(self.data.train)} examples, {len(self.data.val)} eval examples, "
                 f"{self.steps_per_epoch} steps/epoch, " + (f"{self.cfg.minutes} min budget" if self.budget
                                                          else f"{self.max_steps} steps"))
        win_t, win_tokens, win_samples = time.time(), 0, 0
        saved_at = self.step
        last_eval, last_eval_step = self.prior_elapsed, self.step
        for group in self.batches():
            elapsed = self.prior_elapsed + time.time() - t0
            p = self.progress(elapsed)
            decision = self.decide(self.progress(elapsed + self.reserve) if self.budget else p)
            if decision == BUDGET_SPENT:
                break
            if decision == STOP:
                return self.finish_stop(elapsed)
            lr_f = self.set_lr(p)
            if oom_at and self.step + 1 >= oom_at:
                raise torch.OutOfMemoryError("simulated out of memory (test hook)")
            t_step = time.time()
            loss, norm, tokens, samples, padded, answer_loss = self.train_step(group)
            self.step += 1
            if self.step > start_step + 1 or not self.compiled:  # a compiling first step is not a step's cost
                self.step_times.append(time.time() - t_step)
            if len(self.step_times) in (1, 3):
                self.plan_evaluation()
            if self.step == start_step + 1 and self.compiled:
                self.log(f"first step took {time.time() - win_t:.1f} s (compiling included)")
                self.status(force=True, message="training")
            win_tokens += tokens  # real (non-padding) tokens
            win_samples += samples
            now = time.time()
            elapsed = self.prior_elapsed + now - t0
            p = self.progress(elapsed)
            rate_p = (p - start_p) / max(now - t0, 1e-6)
            eta = (1 - p) / rate_p if rate_p > 0 else None
            total = self.max_steps or (int(self.step / p) if p > 0 else 0)
            dt = max(now - win_t, 1e-6)
            micro_per_epoch = max(1, self.steps_per_epoch * self.r.grad_accum * self.world)
            rec = {"step": self.step, "epoch": round(self.epoch + self.cursor / micro_per_epoch, 4),
                   "loss": loss, "answer_loss": answer_loss, "lr": self.r.lr * lr_f, "lr_factor": lr_f, "grad_norm": norm,
                   "tokens": tokens, "padding": 1 - tokens / padded,
                   "tokens_per_s": win_tokens * self.world / dt, "samples_per_s": win_samples * self.world / dt,
                   "peak_memory": peak_memory(self.device), "elapsed": elapsed, "eta": eta, "progress": p,
                   **self.group_lrs}
            win_t, win_tokens, win_samples = now, 0, 0
            if not math.isfinite(loss):
                raise StudioError(f"The loss became {loss} at step {self.step}: lower the learning rate.")
            is_eval = self.step % self.eval_every == 0 or bool(
                self.eval_period and elapsed - last_eval >= self.eval_period and p < 1.0)
            if is_eval:
                try:
                    rec.update(self.evaluate())
                except EvalInterrupted:
                    self.metrics(rec)
                    return self.finish_stop(self.prior_elapsed + time.time() - t0)
                last_eval, last_eval_step = elapsed, self.step
                self.plan_evaluation()
            self.metrics(rec)
            self.status(force=is_eval, step=self.step, total=total, eta=eta, progress=p,
                        elapsed=elapsed, elapsed_at=now, **self.best_fields())
            if self.on_step is not None:
                self.on_step(self.step, total, rec)
            if self.step % self.r.save_every == 0:
                self.checkpoint(elapsed)
                saved_at = self.step
            if self.step - start_step >= 1 and self.max_steps and self.step >= self.max_steps:
                break
        elapsed = self.prior_elapsed + time.time() - t0
        if last_eval_step != self.step:
            try:
                res = self.evaluate()
            except EvalInterrupted:  # the budget was spent first: the run is done, without its last evaluation
                res = {}
            if res:
                self.metrics({"step": self.step, **res, "elapsed": elapsed})
        if saved_at != self.step:
            self.checkpoint(elapsed)
        if self.main:
            self.status(force=True, message="saving the final model")
            save_final_model(self.run_dir, self.model, self.tok, self.cfg)
            note = learning_note(self.step)
            if note:
                self.log(note)
            self.remember_step_time()
            self.status(force=True, step=self.step, total=self.step, eta=0, progress=1.0, elapsed=elapsed,
                        message="done", warning=note, eval_share=self.eval_share(elapsed),
                        train_seconds=round(sum(self.step_times), 1), eval_seconds=round(self.eval_seconds, 1),
                        run_seconds=round(time.time() - t0, 1),
                        **self.best_fields())
            self.log("done")
        return "done"

    def remember_step_time(self) -> None:
        """This machine's seconds per step for the model and recipe (core.training.machine)."""
        if self.main and self.world == 1:
            s = record_step_time(self.cfg.model, self.r, self.cfg.format, self.device.type, self.step_times)
            if s:
                self.log(f"{s:.2f} s per optimizer step (median), remembered for estimates on this machine")

    def eval_share(self, elapsed: float) -> float | None:
        """The share of the run's time not spent on training steps (evaluation, saving, loading data)."""
        if elapsed <= 0 or not self.step_times:
            return None
        return round(max(0.0, 1 - sum(self.step_times) / max(elapsed - self.prior_elapsed, 1e-9)), 3)

    def finish_stop(self, elapsed: float) -> str:
        cancel = runs.cancel_requested(self.run_dir)
        self.remember_step_time()
        if self.main:  # the runner (core.jobs.runner) writes the state; stopped follows when this returns
            self.job.stopping("cancelling" if cancel else "saving a checkpoint")
        if not cancel:
            self.checkpoint(elapsed)
        self.status(force=True, step=self.step,
                    message="cancelled" if cancel else f"stopped at step {self.step}; resume to continue")
        self.log("cancelled" if cancel else "stopped")
        return "stopped"


def peak_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def run_worker(run_dir: Path, resume: bool = False, on_step: StepHook | None = None) -> int:
    """Entry point of the worker process. Returns the exit code (core.jobs.runner: 0 done or stopped by
    request, 130 interrupted by Ctrl-C or SIGTERM, 1 failed); the runner writes every state.

    on_step(step, total steps (an estimate under a time budget), metrics record) after every step."""
    run_dir = Path(run_dir)
    rank = int(os.environ.get("RANK", 0))
    try:
        cfg = TrainConfig.from_dict(runs.read_config(run_dir))
    except (ValueError, StudioError) as e:
        if rank == 0:
            runner.end(run_dir, "failed", pid=os.getpid(), error=f"Invalid config: {e}")
        print(f"error: invalid config: {e}", file=sys.stderr, flush=True)
        return 1
    trainer = Trainer(run_dir, cfg, resume)
    trainer.on_step = on_step
    try:
        return _run(trainer, run_dir, rank)
    finally:
        trainer.tracker.close()


def _run(trainer: "Trainer", run_dir: Path, rank: int) -> int:
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        import torch.distributed as dist
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if rank != 0:
        trainer.started = time.time()
        trainer.run()
        return 0

    def work(job: runner.Job) -> str:
        trainer.job = job
        job.say("loading the model and data")
        trainer.started = time.time()
        try:
            return trainer.run()
        finally:  # the step reached so far (status writes are throttled, so it may be newer than status.json's)
            job.final["step"] = getattr(trainer, "step", 0)

    # SIGTERM is a graceful stop: the loop sees the flag, saves a checkpoint, ends stopped (exit 130).
    return runner.run(run_dir, work, holder=f"training {run_dir.name}", oom_hint=OOM_HINT,
                      on_signal=lambda: setattr(trainer, "stop_flag", True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.training.worker", description="Training worker for one run folder")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    a = ap.parse_args(argv)
    from core.progress import library_bars

    library_bars()  # log.txt is not a terminal: no library bars ("Loading weights") drawn into it
    access.act_as_local()  # launched by start_training / resume_training, which checked who asked
    return run_worker(a.run_dir, a.resume)


if __name__ == "__main__":
    sys.exit(main())
