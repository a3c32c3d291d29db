"""The one training loop: AdamW with decay groups, warmup + cosine LR, clipping, accumulation, eval,
checkpoints with exact resume, autocast, torch.compile and DistributedDataParallel.

Exactness: every random draw of the loop comes from two places that the checkpoint saves, the data generator
(batches) and torch's global RNG (dropout); evaluation draws from its own generator, reseeded each time, so
evaluating never shifts training. On the CPU, N steps + resume + N steps equals 2N steps to the bit.

DDP: under torchrun (RANK/WORLD_SIZE set) every rank draws the same *global* batch from the same generator and
trains on its own slice, so W processes with batch b step exactly like one process with batch W*b.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from nanozoo.core import checkpoint
from nanozoo.core.config import TrainConfig
from nanozoo.core.runlog import MetricsLog
from nanozoo.core.task import Task

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


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


def resolve_device(name: str, env: DistEnv) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", env.local_rank)
        return (
            torch.device("mps")
            if torch.backends.mps.is_available() and env.world == 1
            else torch.device("cpu")
        )
    return torch.device(name)


def autocast_dtype(name: str, device: torch.device) -> torch.dtype | None:
    """None means no autocast (plain float32). auto: bf16 on a GPU that has it, else float32."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    return {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to cfg.lr, then cosine (or linear) decay to cfg.min_lr at lr_decay_iters."""
    if step < cfg.warmup_iters:
        return cfg.lr * (step + 1) / (cfg.warmup_iters + 1)
    if cfg.schedule == "constant":
        return cfg.lr
    end = cfg.lr_decay_iters or cfg.max_iters
    frac = min(1.0, (step - cfg.warmup_iters) / max(1, end - cfg.warmup_iters))
    coeff = 0.5 * (1.0 + math.cos(math.pi * frac)) if cfg.schedule == "cosine" else 1.0 - frac
    return cfg.min_lr + coeff * (cfg.lr - cfg.min_lr)


def make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices and embeddings (dim >= 2), none on biases and norm gains."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused)


# ---------------------------------------------------------------------------------------------------
# The trainer


def init_distributed() -> DistEnv:
    """Join the process group torchrun describes (gloo on CPU, NCCL on GPU); a no-op for one process."""
    env = DistEnv.from_env()
    if env.world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return env


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
        self.amp = autocast_dtype(cfg.dtype, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)
        self.raw = task.model.to(self.device)
        self.model = torch.compile(self.raw) if cfg.compile else self.raw
        if self.env.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.opt = make_optimizer(self.raw, cfg, self.device)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # training batches; same on every rank
        self.step, self.best_val = 0, math.inf
        self.metrics = MetricsLog(self.run_dir, enabled=self.env.master)
        self._stop_requested = False
        if resume:
            self._load()

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
        cfg, B = self.cfg, self.cfg.batch_size
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.step, cfg)
        total, tokens = torch.zeros((), device=self.device), 0
        full = self.task.get_batch("train", B * cfg.grad_accum * self.env.world, self.gen)
        for micro in range(cfg.grad_accum):
            batch = self._slice(full, B, micro)
            tokens += self.task.tokens(batch) * self.env.world
            sync = micro == cfg.grad_accum - 1 or self.env.world == 1
            with contextlib.nullcontext() if sync else self.model.no_sync(), self._autocast():
                loss = self.task.loss(self.model, batch) / cfg.grad_accum
            self.scaler.scale(loss).backward()
            total += loss.detach()
        value = total.item()
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"loss is {value} at step {self.step + 1} (lr {lr_at(self.step, cfg):.3g}); lower train.lr, "
                f"raise train.warmup_iters or set train.grad_clip; the last checkpoint is in {self.run_dir}"
            )
        if cfg.grad_clip > 0:
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.raw.parameters(), cfg.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.opt.zero_grad(set_to_none=True)
        self.step += 1
        return value, tokens

    # -- evaluation ----------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, splits: tuple[str, ...] | None = None, task_metrics: bool = True) -> dict[str, float]:
        """Mean loss over eval_iters batches per split (the same batches every time), plus task metrics."""
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

    def _mean(self, t: torch.Tensor) -> float:
        if self.env.world > 1:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
            t = t / self.env.world
        return t.item()

    # -- the loop --------------------------------------------------------------------------------------
    def fit(self, until: int | None = None) -> dict[str, float]:
        """Train to cfg.max_iters (or stop at step `until`, as if interrupted); returns the last eval."""
        cfg = self.cfg
        stop = min(until or cfg.max_iters, cfg.max_iters)
        self.raw.train()
        last_eval: dict[str, float] = {}
        t0, t_log, tok_log, elapsed0 = time.time(), time.time(), 0, self._elapsed0
        with self._progress(stop) as bar, self._sigint():
            if self.step == 0 and cfg.eval_iters:
                last_eval = self._eval_and_log(elapsed0)
            while self.step < stop and not self._stop_requested:
                loss, tokens = self.train_step()
                tok_log += tokens
                now = time.time()
                if self.step % cfg.log_interval == 0 or self.step == stop:
                    tps = tok_log / max(now - t_log, 1e-9)
                    mean = self._mean(torch.tensor(loss))
                    self.metrics.write(
                        self.step,
                        elapsed0 + now - t0,
                        train_loss=mean,
                        lr=lr_at(self.step - 1, cfg),
                        tokens_per_s=round(tps, 1),
                    )
                    bar(self.step, mean, tps)
                    t_log, tok_log = now, 0
                at_eval = self.step % cfg.eval_interval == 0 or self.step == cfg.max_iters
                if at_eval and cfg.eval_iters:
                    last_eval = self._eval_and_log(elapsed0 + time.time() - t0)
                ckpt_every = cfg.ckpt_interval or cfg.eval_interval
                if self.step % ckpt_every == 0 or self.step == stop or self._stop_requested:
                    self.save(elapsed0 + time.time() - t0)
        if self.step == cfg.max_iters and self.task.final_splits and cfg.eval_iters:
            final = self.evaluate(self.task.final_splits, task_metrics=False)
            self.metrics.write(self.step, elapsed0 + time.time() - t0, **final)
            last_eval = {**last_eval, **final}
        if self._stop_requested:
            log.info(
                "interrupted at step %d; checkpoint saved in %s (resume with --resume)",
                self.step,
                self.run_dir,
            )
        return last_eval

    def _eval_and_log(self, elapsed: float) -> dict[str, float]:
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
        checkpoint.save_weights(self.raw, self.run_dir / "model.safetensors", step=self.step)
        info = {
            "elapsed_s": elapsed_s,
            "best_val_loss": self.best_val,
            "world_size": self.env.world,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
        }
        checkpoint.save_trainer_state(self.run_dir, self.step, self.opt, self._rng_state(), info)

    def _load(self) -> None:
        doc, opt_state, rng = checkpoint.load_trainer_state(self.run_dir)
        checkpoint.load_weights(self.raw, self.run_dir / "model.safetensors")
        self.opt.load_state_dict(opt_state)
        torch.set_rng_state(rng["torch"])
        self.gen.set_state(rng["data"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        if doc.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(doc["scaler"])
        self.step, self.best_val = doc["step"], doc.get("best_val_loss", math.inf)
        self._elapsed0 = doc.get("elapsed_s", 0.0)
        self.metrics.truncate_after(self.step)
        log.info("resumed %s at step %d", self.run_dir, self.step)

    _elapsed0 = 0.0

    # -- progress and Ctrl-C -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _progress(self, total: int):
        """A rich bar (step, loss, tokens/s, ETA) on rank 0; yields update(step, loss, tokens_per_s)."""
        if not (self.cfg.progress and self.env.master):
            yield lambda *a: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        cols = [
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  {task.fields[tps]:,.0f} tok/s"),
            TimeRemainingColumn(),
        ]
        with Progress(*cols, transient=False) as p:
            task = p.add_task("train", total=total, completed=self.step, loss=float("nan"), tps=0.0)
            yield lambda step, loss, tps: p.update(task, completed=step, loss=loss, tps=tps)

    @contextlib.contextmanager
    def _sigint(self):
        """First Ctrl-C: finish the step, checkpoint, stop. Second: the usual KeyboardInterrupt."""
        import threading

        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True
            log.warning("stopping after this step (Ctrl-C again to abort without a checkpoint)")

        old = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)
