"""One process of the 2-process DDP test (tests/test_interop_ddp.py), started by torchrun.

Loads an rnnlab model, converts it with ``to_torch``, wraps it in DistributedDataParallel (gloo,
CPU), takes ONE SGD step on this rank's half of the batch (DDP averages the gradients of the
halves: the full batch's mean gradient), and on rank 0 converts back with ``from_torch`` and
saves the rnnlab model. Usage::

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py MODEL DATA.npz OUT LR
"""
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import rnnlab
from rnnlab.interop.torch import from_torch, to_torch


def main(model_dir: str, data: str, out: str, lr: float) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = rnnlab.load(model_dir)
    module = to_torch(model).train()
    ddp = DistributedDataParallel(module)
    d = np.load(data)
    part = np.array_split(np.arange(len(d["x"])), world)[rank]          # this rank's half of the batch
    x, y, lengths = (torch.from_numpy(d[k][part]) for k in ("x", "y", "lengths"))
    opt = torch.optim.SGD(ddp.parameters(), lr=lr)
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(ddp(x, lengths), y)
    loss.backward()                                                     # all-reduce: the mean of the ranks' gradients
    opt.step()
    if rank == 0:
        back = from_torch(ddp.module.eval())
        back.compile(loss="mse", optimizer="sgd", lr=lr)
        back.save(out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
    print(f"rank {os.environ.get('RANK')} done", flush=True)
