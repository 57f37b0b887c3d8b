"""Child process for test_compile_sdpa_pin: compile a debug model's blocks, run them under an SDPA pin, print the
kernel that ran. argv: pin, then "trainer" (train.setup.compile_blocks) or "plain" (block.compile() alone)."""
import sys

import torch
from torch.profiler import profile

from bench.attn_kernel_probe import classify
from model import FLAVORS, GPTNeoX
from train.loop import sdpa_context
from train.setup import compile_blocks

pin, how = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
model = GPTNeoX(FLAVORS["debug"]).eval()
if how == "trainer":
    compile_blocks(model)
else:
    for block in model.blocks:
        block.compile()
x = torch.randint(0, 1000, (1, 16))
with torch.no_grad(), sdpa_context(pin):
    model(x)
    with profile() as prof:
        model(x)
print("RAN", classify({e.key for e in prof.key_averages()}) or "math (decomposed)")
