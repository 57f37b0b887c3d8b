"""Train the debug flavor in fp16 on CPU with injected overflows at given micro-steps (for the loss-scale test).

DeepSpeed refuses fp16 on a CPU only by asking the accelerator `is_fp16_supported()`; torch runs fp16 on CPU, so the
check is lifted here, and the engine's own dynamic loss scaler and skip logic run unchanged."""
from __future__ import annotations

import json
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    from train.procenv import extensions_dir

    os.environ.setdefault("TORCH_EXTENSIONS_DIR", extensions_dir())
    from deepspeed.accelerator import get_accelerator

    get_accelerator().is_fp16_supported = lambda: True
    from train import loop
    from train.config import load
    from train.procenv import single_process_env

    overflow_at = set(json.loads(os.environ["TRAIN_TEST_OVERFLOW_AT"]))  # 1-based forward calls
    calls = [0]
    forward = loop.LossModule.forward

    def poisoned(self, *args, **kwargs):
        calls[0] += 1
        loss = forward(self, *args, **kwargs)
        return loss * float("inf") if calls[0] in overflow_at else loss

    loop.LossModule.forward = poisoned
    single_process_env()
    loop.train(load("debug", None, sys.argv[1:]))
