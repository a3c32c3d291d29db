"""The one training loop: AdamW with decay groups, warmup + cosine LR, clipping, accumulation, eval,
checkpoints with exact resume, autocast, torch.compile and DistributedDataParallel.

Exactness: every random draw of the loop comes from two places that the checkpoint saves, the data generator
(batches) and torch's global RNG (dropout); evaluation draws from its own generator, reseeded each time, so
evaluating never shifts training. On the CPU, N steps + resume + N steps equals 2N steps to the bit.

DDP: under torchrun (RANK/WORLD_SIZE set) every rank draws the same *global* batch from the same generator and
trains on its own slice, so W processes with batch b step exactly like one process with batch W*b. Metric
reductions run on the training device (NCCL reduces only GPU tensors).

Stopping: SIGINT (Ctrl-C) and SIGTERM (timeout, SLURM, Kubernetes) finish the step, checkpoint and return; a
checkpoint is also written every `checkpoint_every_s` seconds, so a kill -9 loses at most that much.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

from nanozoo.core import checkpoint, speed
from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.errors import UserError
from nanozoo.core.runlog import MetricsLog
from nanozoo.core.speed import (
    DTYPES,
    autocast_dtype,
    compile_unsupported,
    matmul_precision,
    peak_flops,
    time_step,
    untouched,
)
from nanozoo.core.task import Task

log = logging.getLogger(__name__)


class TrainingDiverged(UserError, RuntimeError):
    """The loss became NaN or infinite: the user's settings to change, not a bug."""


# ---------------------------------------------------------------------------------------------------
# Devices, distribution, schedule, optimizer


@dataclass
class DistEnv:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def master(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> DistEnv:
        if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) < 2:
            return cls()
        return cls(
            int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))
        )


def check_device(name: str) -> None:
    """Refuse (ConfigError) a device this machine does not have; called before a run folder is made."""
    if name == "auto":
        return
    dev = torch.device(name)
    if dev.type == "cuda":
        n = torch.cuda.device_count()
        if n == 0:
            build = (
                "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            )
            raise ConfigError(
                f"train.device={name}: no CUDA GPU is visible (torch {torch.__version__} is {build}); "
                "use train.device=cpu or auto"
            )
        index = dev.index if dev.index is not None else DistEnv.from_env().local_rank  # torchrun: one each
        if index >= n:
            raise ConfigError(
                f"train.device={name}: this machine has {n} GPU(s), cuda:0 to cuda:{n - 1}, and this "
                f"process would take cuda:{index} (torchrun's --nproc_per_node is at most the GPU count)"
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"train.device={name}: Apple's MPS is not available here; use cpu or auto")


def resolve_device(name: str, env: DistEnv) -> torch.device:
    if name == "cuda":  # under torchrun each rank takes its own GPU
        return torch.device("cuda", env.local_rank)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", env.local_rank)
        return (
            torch.device("mps")
            if torch.backends.mps.is_available() and env.world == 1
            else torch.device("cpu")
        )
    return torch.device(name)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to cfg.lr, then cosine (or linear) decay to cfg.min_lr at lr_decay_iters; or the
    transformer's inverse square root ("noam", which ignores min_lr and lr_decay_iters)."""
    if cfg.schedule == "noam":
        s, w = step + 1, max(cfg.warmup_iters, 1)
        ### BEGIN SOLUTION
        return cfg.lr * math.sqrt(w) * min(s**-0.5, s * w**-1.5)
        ### END SOLUTION
    if step < cfg.warmup_iters:
        return cfg.lr * (step + 1) / (cfg.warmup_iters + 1)
    if cfg.schedule == "constant":
        return cfg.lr
    end = cfg.lr_decay_iters or cfg.max_iters
    frac = min(1.0, (step - cfg.warmup_iters) / max(1, end - cfg.warmup_iters))
    coeff = 0.5 * (1.0 + math.cos(math.pi * frac)) if cfg.schedule == "cosine" else 1.0 - frac
    return cfg.min_lr + coeff * (cfg.lr - cfg.min_lr)


def make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices and embeddings (dim >= 2), none on biases and norm gains. Or Muon
    on the hidden matrices with AdamW on the rest (core/muon.py); a group's `lr_scale` multiplies the
    schedule's lr (muon_lr / lr for Muon's)."""
    if cfg.optimizer == "muon":
        from nanozoo.core.muon import Muon, param_groups

        groups = param_groups(model, cfg.weight_decay)
        for g in groups:
            g["lr_scale"] = cfg.muon_lr / cfg.lr if g["use_muon"] else 1.0
        return Muon(groups, lr=cfg.lr, momentum=cfg.muon_momentum, betas=(cfg.beta1, cfg.beta2))
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # fused: one kernel over every parameter instead of a dozen passes; on the CPU too (measured in
    # benchmarks/RESULTS.md, "Training throughput"); the same update, to float32 rounding
    fused = device.type in _get_fused_kernels_supported_devices()
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused)


def clip_grad_norm(params, max_norm: float) -> torch.Tensor:
    """torch's clip_grad_norm_ (the gradients scaled by max_norm / (norm + 1e-6) where that is below 1),
    except that gradients within the bound are left alone rather than multiplied by 1: a pass over every
    gradient saved in most steps (the CPU recipe clips 28% of its first 200 steps, none after 1,000;
    6% of a batch-12 step is that multiply on 2 threads). The same numbers, to the bit."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:  # nothing trained this step (every parameter frozen): torch's answer, a norm of 0
        return torch.tensor(0.0)
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    coef = max_norm / (norm + 1e-6)
    if coef < 1:
        torch._foreach_mul_(grads, coef)
    return norm


# ---------------------------------------------------------------------------------------------------
# The trainer


def init_distributed() -> DistEnv:
    """Join the process group torchrun describes (gloo on CPU, NCCL on GPU); a no-op for one process.

    With GPUs the group has both backends, each collective taking the one of its tensors' device, and each
    rank selects its GPU first (NCCL refuses two ranks on one GPU; object broadcasts use the current one)."""
    env = DistEnv.from_env()
    if env.world > 1 and not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(env.local_rank)
        dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    return env


def check_batches(task: Task, cfg: TrainConfig) -> None:
    """Draw one batch of every split at the sizes training and evaluation draw, before a run folder is made,
    so that data too small for the config (a block_size longer than a split) fails first. Uses its own
    generator: the run's random streams are untouched."""
    world, gen = DistEnv.from_env().world, torch.Generator().manual_seed(0)
    for split in dict.fromkeys((*task.splits, *task.final_splits)):
        task.get_batch(split, cfg.batch_size * world * (cfg.grad_accum if split == "train" else 1), gen)


class Trainer:
    """Trains `task.model` under `cfg`, writing checkpoints and metrics into `run_dir` (rank 0 only)."""

    def __init__(self, task: Task, cfg: TrainConfig, run_dir: str | Path, resume: bool = False):
        self.task, self.cfg, self.run_dir = task, cfg, Path(run_dir)
        self.env = init_distributed()
        self.device = resolve_device(cfg.device, self.env)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        speed.keep_freed_memory()
        self.raw = task.model.to(self.device)
        self.model = self._compiled(self.raw)
        if self.env.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.opt = make_optimizer(self.raw, cfg, self.device)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # training batches; same on every rank
        self.step, self.best_val = 0, math.inf
        self.metrics = MetricsLog(self.run_dir, enabled=self.env.master)
        self.stop_signal = 0  # the signal (SIGINT, SIGTERM) that asked the run to stop; 0: none
        self.last_train_loss = math.nan
        self.out_of_time = False  # train.max_seconds ran out: the run is finished, as at max_iters
        self.resumed = resume
        # train.dtype=auto on a CPU with native bf16 is measured on this model (core/speed.py); a resumed run
        # keeps the choice its start made (saved with the checkpoint), so that it resumes exactly
        measure = self._step_seconds if not resume and cfg.dtype == "auto" else None
        self.amp = self._agreed(autocast_dtype(cfg.dtype, self.device, measure))
        if resume:
            self._load()
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)
        if self._scaler_state and self.scaler.is_enabled():
            self.scaler.load_state_dict(self._scaler_state)

    # -- speed: compile, dtype ---------------------------------------------------------------------
    def _compiled(self, model: nn.Module) -> nn.Module:
        """torch.compile(model) for train.compile, or the model itself, with one warning, where compiling
        cannot work. Checkpoints always hold the uncompiled model's names (no `_orig_mod.` prefix)."""
        if not self.cfg.compile:
            return model
        why = compile_unsupported(self.device)
        if why:
            log.warning("train.compile=true: %s; training without it", why)
            return model
        return torch.compile(model)

    def _step_seconds(self, dtype: torch.dtype | None) -> float:
        """Seconds of a forward and backward pass of one training batch under autocast `dtype`, leaving no
        trace (RNG, buffers, gradients); drawn from a generator of its own, not the run's."""
        B = self.cfg.batch_size
        gen = torch.Generator().manual_seed(0)
        batch = self._slice(self.task.get_batch("train", B * self.env.world, gen), B)

        def step():
            with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
                self.task.loss(self.raw, batch).backward()

        with untouched(self.raw), matmul_precision(self.cfg.matmul_precision):
            return time_step(step)

    def _agreed(self, dtype: torch.dtype | None) -> torch.dtype | None:
        """Rank 0's dtype on every rank (each measures its own, and two could differ)."""
        if self.env.world == 1:
            return dtype
        names = list(DTYPES)
        code = torch.tensor(names.index(next(k for k, v in DTYPES.items() if v == dtype)), device=self.device)
        dist.broadcast(code, src=0)
        return DTYPES[names[int(code)]]

    @property
    def dtype_name(self) -> str:
        return next(k for k, v in DTYPES.items() if v == self.amp)

    # -- one optimizer step ------------------------------------------------------------------------
    def _autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def _slice(self, batch: tuple, n: int, part: int = 0) -> tuple:
        """This rank's rows of micro-batch `part` of a global batch, moved to the device."""
        i = (part * self.env.world + self.env.rank) * n
        return tuple(t[i : i + n].to(self.device, non_blocking=True) for t in batch)

    def train_step(self) -> tuple[float, int]:
        """One optimizer step over grad_accum micro-batches; returns (mean loss on this rank, tokens seen).

        The whole global batch (batch_size x grad_accum x world) is drawn at once, so accumulating 2 x 4 rows,
        2 ranks x 4 rows and one batch of 8 rows all see the same 8 rows and take the same step."""
        with matmul_precision(self.cfg.matmul_precision):
            return self._train_step()

    def _train_step(self) -> tuple[float, int]:
        cfg, B, n = self.cfg, self.cfg.batch_size, self.cfg.grad_accum
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.step, cfg) * g.get("lr_scale", 1.0)
        total, tokens = None, 0
        full = self.task.get_batch("train", B * n * self.env.world, self.gen)
        for micro in range(n):
            batch = self._slice(full, B, micro)
            tokens += self.task.tokens(batch) * self.env.world
            sync = micro == n - 1 or self.env.world == 1
            with contextlib.nullcontext() if sync else self.model.no_sync(), self._autocast():
                loss = self.task.loss(self.model, batch)
            # without accumulation no division by 1: it would be a kernel and an autograd node for nothing
            loss = loss / n if n > 1 else loss
            self.scaler.scale(loss).backward()
            total = loss.detach().float() if total is None else total + loss.detach().float()
        value = total.item()
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"loss is {value} at step {self.step + 1} (lr {lr_at(self.step, cfg):.3g}); lower train.lr, "
                f"raise train.warmup_iters or set train.grad_clip"
                + (
                    f"; the last checkpoint is in {self.run_dir}"
                    if (self.run_dir / "trainer_state.json").exists()
                    else ""
                )
            )
        if cfg.grad_clip > 0:
            self.scaler.unscale_(self.opt)
            clip_grad_norm(self.raw.parameters(), cfg.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.opt.zero_grad(set_to_none=True)
        self.step += 1
        return value, tokens

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(self, splits: tuple[str, ...] | None = None, task_metrics: bool = True) -> dict[str, float]:
        """Mean loss over eval_iters batches per split (the same batches every time), plus task metrics."""
        with torch.no_grad(), matmul_precision(self.cfg.matmul_precision):
            return self._evaluate(splits, task_metrics)

    def _evaluate(self, splits: tuple[str, ...] | None, task_metrics: bool) -> dict[str, float]:
        cfg, out = self.cfg, {}
        self.raw.eval()
        for split in self.task.splits if splits is None else splits:
            gen = torch.Generator().manual_seed(cfg.seed + 1)
            total = torch.zeros((), device=self.device)
            for _ in range(cfg.eval_iters):
                batch = self._slice(
                    self.task.get_batch(split, cfg.batch_size * self.env.world, gen), cfg.batch_size
                )
                with self._autocast():
                    total += self.task.loss(self.raw, batch).float()
            out[f"{split}_eval_loss" if split == "train" else f"{split}_loss"] = (
                self._mean(total) / cfg.eval_iters
            )
        if task_metrics and self.task.evaluate is not None:
            out.update(self.task.evaluate(self.raw))
        self.raw.train()
        return out

    @property
    def finished(self) -> bool:
        """At max_iters, or out of train.max_seconds: the final evaluation and samples are due."""
        return self.step >= self.cfg.max_iters or self.out_of_time

    def _time_is_up(self, elapsed_s: float) -> bool:
        """Whether train.max_seconds ran out, on rank 0's clock (every rank stops at the same step)."""
        up = torch.tensor(float(0 < self.cfg.max_seconds <= elapsed_s), device=self.device)
        if self.env.world > 1:
            dist.broadcast(up, src=0)
        return bool(up)

    def _mean(self, t: torch.Tensor | float) -> float:
        """The mean over ranks, reduced on the training device (NCCL reduces only GPU tensors)."""
        t = torch.as_tensor(t, dtype=torch.float32, device=self.device)
        if self.env.world > 1:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
            t = t / self.env.world
        return t.item()

    # -- the loop --------------------------------------------------------------------------------------
    def fit(self, until: int | None = None) -> dict[str, float]:
        """Train to cfg.max_iters (or stop at step `until`, as if interrupted); returns the last eval.

        A run stopped between evaluations returns {"train_loss": the last logged batch loss} instead of an
        older evaluation that would read as final."""
        cfg = self.cfg
        stop = min(until or cfg.max_iters, cfg.max_iters)
        self.raw.train()
        if self.env.master:
            n = sum(p.numel() for p in self.raw.parameters())
            log.info("training %s parameters on %s; run folder %s", f"{n:,}", self.device, self.run_dir)
        last_eval, eval_step = {}, -1
        mfu = self._mfu()
        t0 = t_log = t_ckpt = time.time()
        tok_log, tps, elapsed0 = 0, math.nan, self._elapsed0
        with self._progress(stop) as progress, self._signals():
            if self.step == 0 and cfg.eval_iters and not self.resumed:
                last_eval, eval_step = self._eval_and_log(elapsed0), 0
            stopping = self._stop_agreed()
            if stopping and self.step == 0:  # stopped during the first evaluation: --resume starts here
                self.save(elapsed0 + time.time() - t0)
            while self.step < stop and not stopping and not self.out_of_time:
                loss, tokens = self.train_step()
                tok_log += tokens
                now = time.time()
                if self.step % cfg.log_interval == 0 or self.step == stop:
                    tps = tok_log / max(now - t_log, 1e-9)
                    self.last_train_loss = self._mean(loss)
                    self.metrics.write(
                        self.step,
                        elapsed0 + now - t0,
                        train_loss=self.last_train_loss,
                        lr=lr_at(self.step - 1, cfg),
                        tokens_per_s=round(tps, 1),
                        **({"mfu": round(mfu(tps), 4)} if mfu else {}),
                    )
                    t_log, tok_log = now, 0
                progress(self.step, self.last_train_loss, tps, mfu(tps) if mfu else math.nan)
                self.out_of_time = self._time_is_up(elapsed0 + now - t0)
                at_eval = self.step % cfg.eval_interval == 0 or self.finished
                if at_eval and cfg.eval_iters:
                    last_eval, eval_step = self._eval_and_log(elapsed0 + time.time() - t0), self.step
                stopping = self._stop_agreed()
                due = self._checkpoint_due(time.time() - t_ckpt)
                if stopping or self.step == stop or self.out_of_time or due:
                    self.save(elapsed0 + time.time() - t0)
                    t_ckpt = time.time()
        if self.finished and self.task.final_splits and cfg.eval_iters:
            final = self.evaluate(self.task.final_splits, task_metrics=False)
            self.metrics.write(self.step, elapsed0 + time.time() - t0, **final)
            last_eval = {**last_eval, **final}
        if self.finished and self.task.finish is not None and self.env.master:
            self.raw.eval()
            with torch.no_grad(), matmul_precision(cfg.matmul_precision):  # as the evaluations
                final = self.task.finish(self.raw, self.run_dir)
            self.raw.train()
            self.metrics.write(self.step, elapsed0 + time.time() - t0, **final)
            last_eval = {**last_eval, **final}
        if self.stop_signal and self.env.master:
            log.info(
                "stopped by %s at step %d; checkpoint saved in %s (resume with --resume)",
                signal.Signals(self.stop_signal).name,
                self.step,
                self.run_dir,
            )
        if eval_step != self.step and not self.finished:
            return {} if math.isnan(self.last_train_loss) else {"train_loss": self.last_train_loss}
        return last_eval

    def _mfu(self):
        """tokens/s -> model FLOPs utilisation, for a model that counts its FLOPs per token (GPT, Llama):
        6N + 12 L C T (Chinchilla's, as nanoGPT counts it) over the device's peak (core/speed.py); or None."""
        per_token = getattr(self.raw, "flops_per_token", None)
        if per_token is None:
            return None
        peak, basis = peak_flops(
            self.device.type, self.amp, torch.get_num_threads(), self.cfg.matmul_precision
        )
        if self.env.master:
            log.info("MFU against %.3g FLOP/s per device (%s), %s", peak, basis, self.dtype_name)
        flops = per_token()
        return lambda tps: flops * tps / (peak * self.env.world)

    def _checkpoint_due(self, since_last_s: float) -> bool:
        """Every ckpt_interval steps (default: each evaluation), and every checkpoint_every_s seconds on rank
        0's clock (saving is rank 0's alone, so the ranks need not agree on the time)."""
        cfg = self.cfg
        timed = cfg.checkpoint_every_s > 0 and since_last_s >= cfg.checkpoint_every_s
        return timed or self.step % (cfg.ckpt_interval or cfg.eval_interval) == 0

    def _stop_agreed(self) -> bool:
        """Whether to stop after this step. Under DDP every rank stops at the same step: a signal can reach
        one rank a step before another, and a rank that stopped alone would leave the others waiting."""
        if self.env.world > 1:
            flag = torch.tensor(self.stop_signal, device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            self.stop_signal = int(flag)
        return bool(self.stop_signal)

    def _eval_and_log(self, elapsed: float) -> dict[str, float]:
        """Evaluate, log and track the best val_loss; returns the evaluation."""
        res = self.evaluate()
        self.metrics.write(self.step, elapsed, **res)
        self.best_val = min(self.best_val, res.get("val_loss", math.inf))
        if self.env.master:
            log.info("step %d: %s", self.step, "  ".join(f"{k} {v:.4f}" for k, v in res.items()))
        return res

    # -- checkpoints -------------------------------------------------------------------------------------
    def _rng_state(self) -> dict[str, torch.Tensor]:
        rng = {"torch": torch.get_rng_state(), "data": self.gen.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return rng

    def save(self, elapsed_s: float) -> None:
        if not self.env.master:
            return
        # A second Ctrl-C / SIGTERM (its handler stops at once) must not land between the three files: the
        # weights of step N beside the state of an older step is a checkpoint that resume refuses.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            self._write_checkpoint(elapsed_s)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _write_checkpoint(self, elapsed_s: float) -> None:
        checkpoint.save_weights(self.raw, self.run_dir / "model.safetensors", step=self.step)
        info = {
            "elapsed_s": elapsed_s,
            "best_val_loss": self.best_val,
            "world_size": self.env.world,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            # what the LR schedule would do next, to tell a resume with another schedule (a larger max_iters)
            "next_lr": lr_at(self.step, self.cfg),
            "lr_decay_end": self.cfg.lr_decay_iters or self.cfg.max_iters,
            "dtype": self.dtype_name,  # what train.dtype=auto chose at the start
        }
        checkpoint.save_trainer_state(self.run_dir, self.step, self.opt, self._rng_state(), info)

    def _load(self) -> None:
        """Restore a run's checkpoint; refuse (before writing anything) a run that has nothing left to do."""
        doc, opt_state, rng = checkpoint.load_trainer_state(self.run_dir)
        if doc["step"] >= self.cfg.max_iters:
            raise ConfigError(
                f"{self.run_dir} is already at step {doc['step']} (train.max_iters={self.cfg.max_iters}); "
                f"raise train.max_iters to train on, e.g. --set train.max_iters={2 * doc['step']}"
            )
        if 0 < self.cfg.max_seconds <= doc.get("elapsed_s", 0.0):
            raise ConfigError(
                f"{self.run_dir} has trained {doc['elapsed_s']:.0f} s (train.max_seconds="
                f"{self.cfg.max_seconds:g}); raise train.max_seconds to train on"
            )
        self._warn_schedule_change(doc)
        checkpoint.load_weights(self.raw, self.run_dir / "model.safetensors")
        self.opt.load_state_dict(opt_state)
        torch.set_rng_state(rng["torch"])
        self.gen.set_state(rng["data"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        if self.cfg.dtype == "auto" and doc.get("dtype") in DTYPES:
            self.amp = DTYPES[doc["dtype"]]
        self.step, self.best_val = doc["step"], doc.get("best_val_loss", math.inf)
        self._scaler_state = doc.get("scaler")
        self._elapsed0 = doc.get("elapsed_s", 0.0)
        self.metrics.truncate_after(self.step)
        log.info("resumed %s at step %d", self.run_dir, self.step)

    _elapsed0 = 0.0
    _scaler_state = None

    def _warn_schedule_change(self, doc: dict) -> None:
        """A resume whose schedule differs from the saved run's (a larger max_iters moves the decay's end)
        jumps the LR: say so, and how to keep the old schedule."""
        old, new = doc.get("next_lr"), lr_at(doc["step"], self.cfg)
        if old is None or math.isclose(old, new, rel_tol=1e-9) or not self.env.master:
            return
        end = self.cfg.lr_decay_iters or self.cfg.max_iters
        log.warning(
            "the LR schedule changed on resume: step %d trains at lr %.3g, not %.3g as the saved run "
            "would; the %s schedule now ends at min_lr %.3g at step %d (train.lr_decay_iters, else "
            "train.max_iters). To keep the saved run's schedule, set train.lr_decay_iters=%d (the LR then "
            "stays at min_lr after it)",
            doc["step"],
            new,
            old,
            self.cfg.schedule,
            self.cfg.min_lr,
            end,
            doc.get("lr_decay_end", end),
        )

    # -- progress and signals ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _progress(self, total: int):
        """Yields update(step, loss, tokens_per_s), called every step, on rank 0. On a terminal: a rich bar
        (step, loss, tokens/s, ETA). Otherwise (a log file, a pipe): one log line every heartbeat_s."""
        from rich.console import Console

        if not self.env.master:
            yield lambda *a: None
        elif self.cfg.progress and Console().is_terminal:
            yield from self._bar(total)
        else:
            yield self._heartbeat(total)

    def _bar(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        cols = [
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),  # empty until a loss is logged
            TimeRemainingColumn(),
        ]
        with Progress(*cols, transient=False) as p:
            task = p.add_task("train", total=total, completed=self.step, status="")
            yield lambda step, loss, tps, mfu: p.update(task, completed=step, status=_status(loss, tps, mfu))

    def _heartbeat(self, total: int):
        t0 = last = time.time()
        step0 = self.step

        def beat(step: int, loss: float, tps: float, mfu: float) -> None:
            nonlocal last
            now = time.time()
            if not self.cfg.heartbeat_s or now - last < self.cfg.heartbeat_s:
                return
            last = now
            eta = (total - step) * (now - t0) / max(step - step0, 1)
            parts = [f"step {step}/{total}", _status(loss, tps, mfu), f"ETA {_duration(eta)}"]
            log.info("  ".join(p for p in parts if p))

        return beat

    @contextlib.contextmanager
    def _signals(self):
        """First SIGINT (Ctrl-C) or SIGTERM (timeout, SLURM, Kubernetes): finish the step, checkpoint, stop.
        A second: stop at once without a checkpoint (KeyboardInterrupt, or exit 128 + SIGTERM)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self.stop_signal:
                raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)
            self.stop_signal = signum
            log.warning(
                "%s: stopping after this step (send it again to stop at once, without a checkpoint)",
                signal.Signals(signum).name,
            )

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def _status(loss: float, tps: float, mfu: float = math.nan) -> str:
    """ "loss 2.3456  12,345 tok/s  MFU 12.3%", or "" before the first logged step."""
    if math.isnan(loss):
        return ""
    return f"loss {loss:.4f}  {tps:,.0f} tok/s" + ("" if math.isnan(mfu) else f"  MFU {100 * mfu:.1f}%")


def _duration(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
