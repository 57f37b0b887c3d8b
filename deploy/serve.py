"""`python -m deploy serve --model DIR --port N [--host 127.0.0.1]`: an OpenAI-compatible server over a Hugging Face
folder (full or quantized), on vLLM where it is installed, else on transformers serve behind our checks (guard.py)."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import sys
from pathlib import Path

ENGINES = ("auto", "transformers", "vllm")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m deploy serve", description=__doc__)
    p.add_argument("--model", required=True, help="a Hugging Face folder (train/export.py's, or deploy quantize's); "
                   "requests name it by this same string, as /v1/models lists it")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: vLLM if it is installed, else transformers serve")
    p.add_argument("--device", default="auto", help="transformers engine: auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--dtype", default="auto", help="transformers engine: auto (the weights'), bfloat16, float16 ...")
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    p.add_argument("--shutdown-grace-s", type=float, default=10.0,
                   help="on SIGTERM, how long requests in flight may finish before they are cut")
    return p.parse_args(argv)


def check_model_dir(path: str) -> tuple[int, str | None]:
    """(the model's context in tokens, None) or (0, why the folder cannot be served)."""
    folder = Path(path)
    if not (folder / "config.json").is_file():
        return 0, f"{path} is not a Hugging Face model folder (no config.json)"
    if not any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")):
        return 0, f"{path} has no tokenizer files (tokenizer.json): export with the tokenizer beside the model"
    config = json.loads((folder / "config.json").read_text())
    context = config.get("max_position_embeddings") or config.get("max_seq_len")
    if not isinstance(context, int) or context < 2:
        return 0, f"{path}/config.json names no context length (max_position_embeddings)"
    return context, None


def choose_engine(asked: str) -> tuple[str | None, str]:
    """(engine, the line that says why) or (None, why the asked one cannot run)."""
    has_vllm = importlib.util.find_spec("vllm") is not None
    if asked == "vllm" and not has_vllm:
        return None, "vLLM is not installed here (pip install vllm on a GPU machine), use --engine transformers"
    if asked == "vllm" or (asked == "auto" and has_vllm):
        return "vllm", "engine: vLLM's OpenAI server"
    why = "asked for" if asked == "transformers" else "vLLM is not installed"
    return "transformers", f"engine: transformers serve behind deploy/guard.py ({why})"


def vllm_command(a: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", a.model, "--host", a.host,
            "--port", str(a.port)]


def listen_socket(host: str, port: int) -> socket.socket:
    """Bound before the model loads, so a taken port fails at once; listening starts when uvicorn serves (until then
    /health is refused, not answered: healthy means ready)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_transformers(a: argparse.Namespace, context: int, sock: socket.socket) -> int:
    import uvicorn
    from transformers import AutoTokenizer

    from deploy.guard import Guard
    from deploy.transformers_app import build

    try:
        served = build(a.model, device=a.device, dtype=a.dtype, log_level=a.log_level)
        tokenizer = AutoTokenizer.from_pretrained(a.model)
    except (OSError, ValueError, KeyError, ImportError, RuntimeError) as e:  # what from_pretrained raises
        reason = " ".join(str(e).split())
        print(f"serve error: cannot load {a.model}: {type(e).__name__}: {reason}", file=sys.stderr)
        return 2
    app = Guard(served.app, tokenizer, context, a.model)
    server = uvicorn.Server(uvicorn.Config(app, log_level=a.log_level,
                                           timeout_graceful_shutdown=a.shutdown_grace_s))
    received: list[int] = []
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal into the handler that was there
    # before it: this one records it, so the process ends with status 0 after a clean stop instead of dying by it
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    try:
        server.run(sockets=[sock])
    finally:
        served.shutdown()
    names = ", ".join(signal.Signals(s).name for s in received) or "no signal"
    print(f"[serve] stopped ({names})", flush=True)
    return 0 if server.started else 1


def main(argv: list[str] | None = None) -> int:
    a = parse(sys.argv[1:] if argv is None else argv)
    context, problem = check_model_dir(a.model)
    engine, line = choose_engine(a.engine) if problem is None else (None, problem)
    if engine is None:
        print(f"serve error: {line}", file=sys.stderr)
        return 2
    print(f"[serve] {line}; model {a.model} (context {context} tokens)", flush=True)
    if engine == "vllm":  # vLLM checks requests itself; it replaces this process, so signals reach it directly
        cmd = vllm_command(a)
        os.execv(cmd[0], cmd)
    try:
        sock = listen_socket(a.host, a.port)
    except OSError as e:
        print(f"serve error: cannot listen on {a.host}:{a.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"[serve] loading the model; /health answers at http://{a.host}:{a.port}/health once it is ready",
          flush=True)
    return serve_transformers(a, context, sock)


if __name__ == "__main__":
    sys.exit(main())
