"""``rnnlab export RUN_OR_MODEL --onnx out.onnx [--lengths] [--opset N] --torch out.pt``.

Loads a saved model (a run folder or its ``model/``) and writes it as an ONNX file
(:func:`rnnlab.interop.onnx.export`) and/or a PyTorch state dict
(``torch.save(to_torch(model).state_dict())``), printing the code that builds the module the
state dict loads into. A ``Seq2Seq`` exports to PyTorch only (a ``TorchSeq2Seq``); ``--onnx``
for one is a one-line error. Unless ``--no-check``, each file is run beside rnnlab on a random
variable-length batch and the largest absolute difference is printed.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from ..errors import InputError
from ..fileio import atomic_write_bytes
from ..io import load_run_or_model
from ..seq2seq import Seq2Seq
from .torch import OUTPUTS, output_function

SUMMARY = "export a saved model to ONNX (runs in ONNX Runtime) and/or a PyTorch state dict"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/pm25) or a model folder")
    p.add_argument("--onnx", type=Path, default=None, metavar="OUT.onnx", help="write an ONNX file")
    p.add_argument("--torch", type=Path, default=None, metavar="OUT.pt",
                   help="write a PyTorch state dict (torch.save(module.state_dict()))")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17; 14 or later)")
    p.add_argument("--lengths", action="store_true",
                   help="ONNX: add an int64 input 'lengths' (batch,) for variable-length batches")
    p.add_argument("--output", choices=OUTPUTS, default=None,
                   help="output function: auto = the model's loss decides (softmax for cross-entropy, sigmoid for "
                        "binary cross-entropy); default auto for ONNX, logits for torch")
    p.add_argument("--no-check", action="store_true", help="do not run the exported file beside rnnlab")


def _checked(what: str, diff_fn) -> str:
    try:
        return f"{what} vs rnnlab on a random variable-length batch: max |diff| = {diff_fn():.3g}"
    except ImportError as exc:
        return f"not checked ({exc.name} is not installed)"


def main(args: argparse.Namespace) -> int:
    if args.onnx is None and args.torch is None:
        raise InputError("export: say what to write: --onnx OUT.onnx and/or --torch OUT.pt")
    model = load_run_or_model(args.model)
    from . import check
    if args.onnx is not None:                        # first: nothing is written when ONNX cannot be
        from .onnx import check_exportable, export
        check_exportable(model)                      # a Seq2Seq: a one-line error pointing to --torch
        output = args.output or "auto"
        path = export(model, args.onnx, opset=args.opset, lengths=args.lengths, output=output)
        print(f"wrote {path} (ONNX opset {args.opset}, {'with' if args.lengths else 'without'} a lengths input, "
              f"output {output_function(model, output) or 'logits'})")
        if not args.no_check:
            def diff() -> float:
                x, lengths = check.sample_inputs(model)
                lengths = lengths if args.lengths else None
                return check.max_abs_diff(check.onnxruntime_output(path, x, lengths),
                                          check.reference_output(model, x, lengths, output))
            print("  " + _checked("ONNX Runtime", diff))
    if args.torch is not None:
        import torch

        from .torch import construction_code, to_torch
        output = args.output or "logits"
        module = to_torch(model, output=output)
        buf = io.BytesIO()
        torch.save(module.state_dict(), buf)
        atomic_write_bytes(args.torch, buf.getvalue())
        print(f"wrote {args.torch} (PyTorch state dict, {len(module.state_dict())} tensors); load it with:\n")
        print(construction_code(model, str(args.torch), output=output))
        if not args.no_check:
            def tdiff() -> float:
                if isinstance(model, Seq2Seq):
                    src, tgt, src_n, tgt_n = check.sample_seq2seq_inputs(model)
                    return check.max_abs_diff(check.seq2seq_torch_output(module, src, tgt, src_n, tgt_n),
                                              check.seq2seq_reference_output(model, src, tgt, src_n, tgt_n, output))
                x, lengths = check.sample_inputs(model)
                return check.max_abs_diff(check.torch_output(module, x, lengths),
                                          check.reference_output(model, x, lengths, output))
            print(_checked("PyTorch", tdiff))
    return 0
