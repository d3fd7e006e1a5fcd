"""torch.distributed plumbing for training under torchrun (DistributedDataParallel).

A process started by torchrun has WORLD_SIZE/RANK/LOCAL_RANK in its environment; then training
joins the process group (NCCL on GPUs, gloo on CPUs), wraps the network in DDP and shards users.
Without them everything here is a no-op, so single-process training needs no launcher.
"""

from __future__ import annotations

import os
from typing import Callable

import torch
import torch.distributed as td
from torch.nn.parallel import DistributedDataParallel


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: torch.device) -> tuple[int, int]:
    """Join the process group when launched by torchrun; returns (rank, world size)."""
    world = world_size()
    if world <= 1:
        return 0, 1
    if not td.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        td.init_process_group(backend)
    return td.get_rank(), td.get_world_size()


def wrap(net: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DDP around net when distributed, else net itself."""
    if not (td.is_available() and td.is_initialized()):
        return net
    ids = [device.index or 0] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids)


def from_rank0(compute: Callable[[], float], device: torch.device) -> float:
    """compute() on rank 0, its value broadcast to every process."""
    value = float(compute())
    if td.is_available() and td.is_initialized():
        t = torch.tensor([value], dtype=torch.float64,
                         device=device if device.type == "cuda" else "cpu")
        td.broadcast(t, src=0)
        value = float(t.item())
    return value


def any_true(flag: bool, device: torch.device) -> bool:
    """True when the flag is true in any process (all of them get the same answer)."""
    if not (td.is_available() and td.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device if device.type == "cuda" else "cpu")
    td.all_reduce(t, op=td.ReduceOp.MAX)
    return bool(t.item() > 0)


def share(value: str | None) -> str:
    """Rank 0's string (e.g. a run id), given to every process."""
    if td.is_available() and td.is_initialized():
        box = [value]
        td.broadcast_object_list(box, src=0)  # our own string, never user data
        value = box[0]
    assert value is not None
    return value


def barrier() -> None:
    if td.is_available() and td.is_initialized():
        td.barrier()


def is_main() -> bool:
    return not (td.is_available() and td.is_initialized()) or td.get_rank() == 0
