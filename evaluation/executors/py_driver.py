"""Runs inside the sandbox: `python -I -B py_driver.py program.py`, the run's nonce on stdin, never in the program.

It reads the nonce, points fd 0 at /dev/null so the program cannot read it there, runs the program as __main__,
and writes the nonce on the last line of stdout only when the program returned: its check(...) call ran to the end.
A SystemExit raised by the program (sys.exit, exit(), raise SystemExit) is reported and fails the run; os._exit ends
the process before the nonce is written. Standard library only: this file runs on the base interpreter.
"""
import os
import sys

EARLY_EXIT_STATUS = 3  # the status the driver ends with when the program raised SystemExit


def main() -> None:
    nonce = sys.stdin.readline().strip()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    out = os.dup(1)  # the program may replace or close sys.stdout; the nonce goes to the original stdout
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    sys.argv = [path]
    try:
        exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})
    except SystemExit as e:
        sys.stderr.write(f"\nSystemExit({e.code!r}) raised before the tests finished\n")
        sys.stderr.flush()
        os._exit(EARLY_EXIT_STATUS)
    for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # replaced by something odd, or closed by the program
            pass
    os.write(out, f"\n{nonce}\n".encode())
    os._exit(0)  # the tests finished: nothing the program left behind (atexit, threads, buffers) may print after


if __name__ == "__main__":
    main()
