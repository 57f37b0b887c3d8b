"""Tokenization speed, side by side over the same texts: `tokenizers` encode_batch, the tiktoken encoder alone, and
the whole Spark tokenize job on local[2] (read, encode, pack, shuffle, write shards); shard write throughput and
the tokens lost to packing."""
from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path

from bench.timing import timed

MB = 1e6
CODE_SUFFIXES = {".py", ".java", ".c", ".h", ".cc", ".cpp", ".hpp", ".go", ".js", ".ts", ".rs", ".rb", ".php"}


def make_table(corpus: str, out: Path, max_mb: float) -> list[str]:
    """A files table (id, content, size_bytes) of real code files under `corpus`, in hash order up to max_mb."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.tokenizer.sample import draw, folder_files, read_text

    files = sorted((k, p) for k, p in folder_files(corpus) if p.suffix in CODE_SUFFIXES)
    files.sort(key=lambda kp: draw(kp[0], 11))
    rows, size = [], 0
    for key, path in files:
        text = read_text(path)
        if not text or len(text) > 1_000_000:
            continue
        rows.append({"id": hashlib.blake2b(key.encode(), digest_size=16).hexdigest(), "content": text,
                     "size_bytes": len(text.encode())})
        size += rows[-1]["size_bytes"]
        if size >= max_mb * MB:
            break
    out.mkdir(parents=True, exist_ok=True)
    n = 8  # several files, as a stage's output would be
    for i in range(n):
        pq.write_table(pa.Table.from_pylist(rows[i::n]), out / f"part-{i:05d}.parquet")
    return [r["content"] for r in rows]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="/tmp/corpora/real")
    ap.add_argument("--tokenizer", default="/tmp/tok-bench/tok100k")
    ap.add_argument("--work", default="/tmp/tok-bench/throughput")
    ap.add_argument("--mb", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--buckets", type=int, default=2, help="tokenize.pack_buckets (tasks); 2 = the 2 cores")
    args = ap.parse_args(argv)
    os.environ.setdefault("RAYON_NUM_THREADS", "2")
    from tokenizers import Tokenizer

    from pipeline.config import SparkConfig, TokenizeConfig
    from pipeline.spark.session import get_session
    from pipeline.tokenize.job import run_tokenize
    from pipeline.tokenizer import fast

    work = Path(args.work)
    texts = make_table(args.corpus, work / "input", args.mb)
    size = sum(len(t.encode()) for t in texts) / MB
    enc = fast.load(args.tokenizer)
    tok = Tokenizer.from_file(f"{args.tokenizer}/tokenizer.json")
    tok.encode_special_tokens = True
    n_tokens = sum(len(x) for x in enc._enc.encode_ordinary_batch(texts, num_threads=2))
    print(f"{len(texts)} files, {size:.1f} MB, {n_tokens:,} tokens, {enc.vocab_size:,} ids, 2 threads / local[2]")
    rows = []
    t = timed(lambda: tok.encode_batch(texts, add_special_tokens=False), args.repeats)
    rows.append(("tokenizers encode_batch (2 threads)", t))
    t = timed(lambda: enc._enc.encode_ordinary_batch(texts, num_threads=2), args.repeats)
    rows.append(("tiktoken encoder alone (2 threads)", t))
    spark = get_session(SparkConfig(master="local[2]", shuffle_partitions=2, driver_memory="4g"))
    cfg = TokenizeConfig(seq_len=args.seq_len, fim_rate=0.5, pack_buckets=args.buckets, shard_rows=512)
    summaries = []

    def job():
        summaries.append(run_tokenize(spark, cfg, [str(work / "input")], args.tokenizer, str(work / "tokens"),
                                      force=True))
    t0 = time.perf_counter()
    job()  # the first run also starts Python workers and loads the encoder in each (once per process)
    cold = time.perf_counter() - t0
    t = timed(job, args.repeats)
    rows.append(("Spark tokenize job, first run (cold workers)", cold))
    rows.append((f"Spark tokenize job, local[2] (FIM 0.5, {args.buckets} buckets)", t))
    base = rows[1][1]
    print(f"\n{'':<52}{'seconds':>9}{'MB/s':>8}{'Mtok/s':>8}{'vs tiktoken':>12}")
    for name, secs in rows:
        print(f"{name:<52}{secs:>9.2f}{size / secs:>8.1f}{n_tokens / secs / 1e6:>8.2f}{base / secs:>12.2f}x")
    s = summaries[-1]
    print(f"\njob phases (last run): {s['times']}; shards: {s['shards']}, rows: {s['rows']:,}, "
          f"shard write {s['shard_write_mb_s']} MB/s (pyarrow, {cfg.compression})")
    print(f"tokens packed: {s['tokens']:,} (incl. EOT and FIM markers); in rows: {s['tokens_in_rows']:,}; "
          f"pad: {s['pad_tokens']:,} (last row only); lost to packing: {s['tokens_lost']}")
    spark.stop()


if __name__ == "__main__":
    main()
