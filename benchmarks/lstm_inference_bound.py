"""Why LSTM inference stays below PyTorch on one thread: the same LSTM batch (``rnn_vs_torch.py``'s
configs, same weights, outputs checked equal) timed as

* ``rnnlab``           — ``Sequential.predict`` (NumPy/OpenBLAS products, Numba gate kernel);
* ``torch``            — PyTorch's default CPU LSTM: oneDNN's fused LSTM primitive (weights
  packed once per call, gates fused in its kernel);
* ``torch, no oneDNN`` — the same module under ``torch.backends.mkldnn.flags(enabled=False)``:
  PyTorch's own LSTM, MKL GEMMs + ATen element-wise gates (what rnnlab's design corresponds to);
* ``rnnlab + MKL packed`` (only with ``--mkl-lib PATH/libmkl_rt.so.N``, e.g. from an unpacked
  ``mkl`` wheel) — rnnlab with each per-step product ``h_{t-1}·weight_hhᵀ`` done by MKL's packed
  GEMM (``cblas_sgemm_pack`` once per forward, ``cblas_sgemm_compute`` per step) through ctypes:
  the remedy the issue discusses, measured instead of estimated. Not a feature: an experiment.

    python benchmarks/lstm_inference_bound.py                       # medium and large, 1 thread
    python benchmarks/lstm_inference_bound.py --mkl-lib /tmp/mklx/mkl-2026.2.0.data/data/lib/libmkl_rt.so.3

Blocks of each variant alternate; medians of ``--repeats`` blocks; ms per batch.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class MklPacked:
    """MKL's packed SGEMM through ctypes: ``pack(w, m)`` once, then ``dot(a, w, out)`` per step."""

    ROW_MAJOR, NO_TRANS, PACKED, B_MATRIX = 101, 111, 151, 162

    def __init__(self, path: str) -> None:
        os.environ.setdefault("MKL_THREADING_LAYER", "SEQUENTIAL")
        self.lib = lib = ctypes.CDLL(path)
        P, I, F = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
        lib.MKL_Set_Threading_Layer(I(1))                     # sequential: one thread, as pinned
        lib.cblas_sgemm_pack_get_size.restype = ctypes.c_size_t
        lib.cblas_sgemm_pack_get_size.argtypes = [I, I, I, I]
        lib.cblas_sgemm_pack.argtypes = [I, I, I, I, I, I, F, P, I, P]
        lib.cblas_sgemm_compute.argtypes = [I, I, I, I, I, I, P, I, P, I, F, P, I]
        self.packed: dict[int, tuple] = {}                    # id of the source array -> (buffer, pointer, m)

    def pack(self, w: np.ndarray, m: int) -> None:
        k, n = w.shape
        size = self.lib.cblas_sgemm_pack_get_size(self.B_MATRIX, m, n, k)
        buf = np.empty(size // 4 + 64, dtype=np.float32)
        ptr = buf.ctypes.data + (-buf.ctypes.data) % 64
        self.lib.cblas_sgemm_pack(self.ROW_MAJOR, self.B_MATRIX, self.NO_TRANS, m, n, k, 1.0,
                                  w.ctypes.data, n, ptr)
        self.packed[id(w)] = (buf, ptr, m)

    def dot(self, a, b, out=None):
        entry = self.packed.get(id(b))
        if entry is None or out is None or a.shape[0] != entry[2] or not a.flags.c_contiguous \
                or not out.flags.c_contiguous:
            return np.dot(a, b, out=out)
        m, k = a.shape
        n = b.shape[1]
        self.lib.cblas_sgemm_compute(self.ROW_MAJOR, self.NO_TRANS, self.PACKED, m, n, k, a.ctypes.data, k,
                                     entry[1], n, 0.0, out.ctypes.data, n)
        return out


def install_packed(mkl: MklPacked):
    """Patch rnnlab's LSTM so that every forward packs its contiguous weight_hhᵀ and every step's
    product ``h·weight_hhᵀ`` (``Cell.times_weight_t``) reads the packed copy — with the weight on
    the right, as MKL's packed GEMM wants it; returns a function that undoes the patch."""
    from profile_step import NumpyWith
    from rnnlab.cells import base
    from rnnlab.cells import lstm as lstm_mod
    from rnnlab.cells.base import Cell
    orig_params, orig_np, orig_left = Cell.step_params, base.np, base.WEIGHT_LEFT_MIN_BYTES
    base.WEIGHT_LEFT_MIN_BYTES = 1 << 62

    def step_params(self, params, cache, steps=None, batch=None):
        out = orig_params(self, params, cache, steps, batch)
        w = out.get("weight_hh_t")
        if w is not None and batch:
            mkl.pack(w, batch)
        return out
    lstm_mod.LSTMCell.step_params = step_params
    base.np = NumpyWith(dot=mkl.dot)

    def undo():
        del lstm_mod.LSTMCell.step_params
        base.np, base.WEIGHT_LEFT_MIN_BYTES = orig_np, orig_left
    return undo


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="medium,large")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--block", type=float, default=0.4, help="seconds per timed block")
    p.add_argument("--mkl-lib", default=None, help="path of libmkl_rt.so.N (unpacked mkl wheel)")
    args = p.parse_args(argv)

    from threadpoolctl import threadpool_limits
    import torch
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):                 # both pinned to one thread; restored after
            return _run(args)
    finally:
        torch.set_num_threads(torch_threads)


def _run(args) -> int:
    from rnn_vs_torch import CONFIGS, TorchNet, calls_for, loadavg, row_setup
    import torch
    mkl = MklPacked(args.mkl_lib) if args.mkl_lib else None
    print(f"LSTM inference, one thread each; ms per batch (median of {args.repeats} alternating blocks); "
          f"load average {loadavg()}")
    for config in args.configs.split(","):
        cfg, x, y, model = row_setup("lstm", config, 0.01)
        net = TorchNet("lstm", cfg, model, 0.01)
        xt, batch = torch.from_numpy(x), cfg[3]

        def torch_plain():
            with warnings.catch_warnings():          # torch notes TF32 for Intel GPUs when the flags change
                warnings.simplefilter("ignore", UserWarning)
                with torch.backends.mkldnn.flags(enabled=False):
                    return net.infer(xt)
        fns = {"rnnlab": lambda: model.predict(x, batch_size=batch), "torch": lambda: net.infer(xt),
               "torch, no oneDNN": torch_plain}
        ref = net.infer(xt).numpy()
        checks = {"rnnlab": model.predict(x, batch_size=batch), "torch, no oneDNN": torch_plain().numpy()}
        undo = None
        if mkl is not None:
            undo = install_packed(mkl)
            checks["rnnlab + MKL packed"] = model.predict(x, batch_size=batch)
            undo()

            def packed():
                u = install_packed(mkl)
                try:
                    return model.predict(x, batch_size=batch)
                finally:
                    u()
            fns["rnnlab + MKL packed"] = packed
        for name, out in checks.items():
            err = float(np.max(np.abs(out - ref)))
            if not err < 1e-4:
                raise SystemExit(f"{config}: {name} disagrees with torch (max |diff| {err:.2e})")
        for fn in fns.values():
            fn()
        counts = {k: calls_for(f, args.block) for k, f in fns.items()}
        times = {k: [] for k in fns}
        for _ in range(args.repeats):
            for k, f in fns.items():
                t0 = time.perf_counter()
                for _ in range(counts[k]):
                    f()
                times[k].append((time.perf_counter() - t0) / counts[k] * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        f, h, steps, b = CONFIGS[config]
        print(f"{config} (input {f}, hidden {h}, steps {steps}, batch {b}):")
        for k, v in med.items():
            print(f"  {k:<22s} {v:9.3f} ms   torch ÷ this {med['torch'] / v:5.2f}   "
                  f"torch-no-oneDNN ÷ this {med['torch, no oneDNN'] / v:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
