"""`python -m bench.serve_throughput`: requests/s and generated tokens/s of `python -m deploy serve` at 1, 4 and 16
concurrent clients (openai client, completions, greedy, max_tokens fixed), against the same requests generated in
this process with model.generate() one after another (no HTTP, no server): the baseline. CPU, debug flavor by
default (a random init: the text is noise, the token counts and timings are real)."""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROMPTS = ["def add(a, b):", "import os\n", "class Stack:\n    def __init__(self):", "for i in range(",
           "# sort a list of numbers\n", "def parse_args(argv):", "with open(path) as f:", "try:\n    import json",
           "if __name__ == '__main__':", "def fib(n):\n    if n < 2:", "x = [i * i for i in", "async def fetch(url):"]


def machine_state() -> str:
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    import torch
    import transformers

    return (f"{platform.node()}: {os.cpu_count()} cores, load average {load}; Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), transformers {transformers.__version__}")


def direct_baseline(model_dir: str, prompts: list[str], max_tokens: int, device: str) -> dict:
    """The same requests through model.generate() in this process, one after another."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto").to(device).eval()
    latencies, tokens = [], 0
    with torch.no_grad():
        model.generate(**tok(prompts[0], return_tensors="pt").to(device), max_new_tokens=4, do_sample=False)
        start = time.perf_counter()
        for p in prompts:
            t0 = time.perf_counter()
            enc = tok(p, return_tensors="pt").to(device)
            out = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False)
            tokens += out.shape[1] - enc["input_ids"].shape[1]
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - start
    del model
    return {"mode": "direct generate()", "clients": 1, "requests": len(prompts), "wall": wall, "tokens": tokens,
            "latencies": latencies}


def served(url: str, model: str, prompts: list[str], max_tokens: int, clients: int) -> dict:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=600)

    def one(prompt: str) -> tuple[float, int]:
        t0 = time.perf_counter()
        r = client.completions.create(model=model, prompt=prompt, max_tokens=max_tokens, temperature=0)
        return time.perf_counter() - t0, r.usage.completion_tokens

    one(prompts[0])  # warm-up
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, prompts))
    wall = time.perf_counter() - start
    return {"mode": "server", "clients": clients, "requests": len(prompts), "wall": wall,
            "tokens": sum(n for _, n in results), "latencies": [t for t, _ in results]}


def row(r: dict) -> str:
    lat = sorted(r["latencies"])
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    return (f"{r['mode']:<18} {r['clients']:>7} {r['requests']:>8} {r['wall']:>8.2f} {r['requests'] / r['wall']:>8.2f} "
            f"{r['tokens'] / r['wall']:>10.1f} {statistics.median(lat):>9.3f} {p95:>9.3f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.serve_throughput", description=__doc__)
    p.add_argument("--model", help="a Hugging Face folder (default: a random debug-flavor one, built here)")
    p.add_argument("--clients", default="1,4,16", help="concurrency levels, comma-separated")
    p.add_argument("--requests", type=int, default=32, help="requests per level")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--device", default="cpu", help="cpu, cuda ...: the server's and the baseline's")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads of the server and of the baseline (OMP_NUM_THREADS); the debug model's tiny "
                        "matrices gain nothing from more, and on shared cores more threads stall on each other")
    p.add_argument("--work", help="folder for the built model and the server log (default: a temporary one)")
    a = p.parse_args(argv)
    from bench.serve_debug_model import export_debug_model, train_tokenizer
    from deploy.supervise import ServerProcess, free_port

    work = Path(a.work or tempfile.mkdtemp(prefix="serve-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model = a.model
    if model is None:
        model = str(export_debug_model(work / "hf", train_tokenizer(work / "tokenizer")))
    elif not (Path(model) / "config.json").is_file():
        print(f"bench error: {model} is not a Hugging Face model folder (no config.json)", file=sys.stderr)
        return 2
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(a.requests)]
    levels = [int(c) for c in a.clients.split(",")]
    import torch

    torch.set_num_threads(a.threads)
    print(f"before: {machine_state()}")
    results = [direct_baseline(model, prompts, a.max_tokens, a.device)]
    with ServerProcess(model, free_port(), log=work / "serve.log", args=("--device", a.device),
                       env={"OMP_NUM_THREADS": str(a.threads)}) as server:
        for clients in levels:
            results.append(served(server.url, model, prompts, a.max_tokens, clients))
    print(f"after:  {machine_state()}")
    print(f"model {model}; {a.requests} completions per level, greedy, max_tokens {a.max_tokens}, "
          f"{a.threads} torch thread(s) in the server and the baseline; "
          f"server log {work / 'serve.log'}")
    print(f"{'mode':<18} {'clients':>7} {'requests':>8} {'wall s':>8} {'req/s':>8} {'gen tok/s':>10} "
          f"{'p50 s':>9} {'p95 s':>9}")
    for r in results:
        print(row(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
