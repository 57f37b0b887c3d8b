"""Node health before launch, from NVML (nvidia-ml-py): ECC errors, retired/remapped memory, Xid events, heat.

`python -m train.launch.health [--json]` exits 0 when the node may train, 3 when it may not. A machine without an
NVIDIA driver passes as a CPU node and says so."""
from __future__ import annotations

import argparse
import json
import socket
import sys
from dataclasses import asdict, dataclass, field

# Xids that mean the GPU or its memory/links need a reset or service, not a bug in the job (NVIDIA's Xid catalogue):
# 48 double-bit ECC, 63/64 row remapping, 74 NVLink, 79 fallen off the bus, 92 high single-bit ECC rate,
# 94/95 contained/uncontained ECC, 119/120 GSP firmware, 140 unrecovered ECC
NODE_FAULT_XIDS = frozenset({48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140})
UNHEALTHY_EXIT = 3


@dataclass(frozen=True)
class Limits:
    max_uncorrected_ecc: int = 0       # volatile (since the last driver load) uncorrected ECC errors allowed
    temp_margin_c: int = 5             # unhealthy when within this many degrees of the slowdown threshold
    max_temp_c: int = 87               # used when the GPU does not report a slowdown threshold
    xid_wait_ms: int = 500             # listen this long for Xid events (NVML reports Xids only as events)


@dataclass
class GpuHealth:
    index: int
    name: str
    healthy: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class NodeHealth:
    host: str
    healthy: bool
    gpus: int
    good_gpus: list[int]
    reasons: list[str]
    note: str
    details: list[dict]


def _nvml():
    import pynvml

    return pynvml


def _reading(nvml, gpu: GpuHealth, what: str, fn, *args):
    """One NVML query; a GPU that does not support it gets a note, not a failure."""
    try:
        return fn(*args)
    except nvml.NVMLError_NotSupported:
        gpu.notes.append(f"{what}: not supported")
    except nvml.NVMLError as e:
        gpu.reasons.append(f"{what}: NVML error {e}")
    return None


def check_gpu(nvml, index: int, limits: Limits) -> GpuHealth:
    h = nvml.nvmlDeviceGetHandleByIndex(index)
    name = nvml.nvmlDeviceGetName(h)
    gpu = GpuHealth(index, name.decode() if isinstance(name, bytes) else str(name), True)
    ecc = _reading(nvml, gpu, "uncorrected ECC", nvml.nvmlDeviceGetTotalEccErrors, h,
                   nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nvml.NVML_VOLATILE_ECC)
    if ecc is not None and ecc > limits.max_uncorrected_ecc:
        gpu.reasons.append(f"{ecc} uncorrected ECC errors since the driver loaded")
    pending = _reading(nvml, gpu, "retired pages", nvml.nvmlDeviceGetRetiredPagesPendingStatus, h)
    if pending:
        gpu.reasons.append("memory pages wait for retirement (needs a GPU reset)")
    rows = _reading(nvml, gpu, "remapped rows", nvml.nvmlDeviceGetRemappedRows, h)
    if rows is not None:
        _corr, uncorr, row_pending, failure = rows
        if failure:
            gpu.reasons.append("row remapping failed (the GPU needs service)")
        elif row_pending:
            gpu.reasons.append(f"row remapping pending ({uncorr} uncorrectable rows; needs a GPU reset)")
    temp = _reading(nvml, gpu, "temperature", nvml.nvmlDeviceGetTemperature, h, nvml.NVML_TEMPERATURE_GPU)
    try:  # a GPU without a reported slowdown threshold falls back to max_temp_c
        slowdown = nvml.nvmlDeviceGetTemperatureThreshold(h, nvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN)
    except nvml.NVMLError:
        slowdown = None
    limit = slowdown - limits.temp_margin_c if slowdown else limits.max_temp_c
    if temp is not None and temp >= limit:
        gpu.reasons.append(f"{temp} C, at or above {limit} C" + (f" ({slowdown} C slows the clocks)" if slowdown
                                                                  else ""))
    gpu.healthy = not gpu.reasons
    return gpu


def xid_events(nvml, handles: dict, wait_ms: int) -> tuple[dict[int, list[int]], str]:
    """Xid critical-error events seen while listening for wait_ms: {gpu index: [xid, ...]}."""
    seen: dict[int, list[int]] = {}
    try:
        events = nvml.nvmlEventSetCreate()
    except nvml.NVMLError as e:
        return seen, f"Xid events not readable ({e})"
    try:
        for index, h in handles.items():
            try:
                nvml.nvmlDeviceRegisterEvents(h, nvml.nvmlEventTypeXidCriticalError, events)
            except nvml.NVMLError as e:
                return seen, f"Xid events not readable on GPU {index} ({e})"
        timeout = wait_ms
        while True:
            try:
                data = nvml.nvmlEventSetWait(events, timeout)
            except nvml.NVMLError_Timeout:
                break
            seen.setdefault(nvml.nvmlDeviceGetIndex(data.device), []).append(int(data.eventData))
            timeout = 0  # drain what is queued, then stop
    finally:
        nvml.nvmlEventSetFree(events)
    return seen, f"Xid events watched for {wait_ms} ms"


def check_node(limits: Limits = Limits(), nvml=None) -> NodeHealth:
    host = socket.gethostname()
    try:
        nvml = nvml or _nvml()
    except ImportError:
        return NodeHealth(host, True, 0, [], [], "nvidia-ml-py is not installed: GPU health not checked (CPU path)",
                          [])
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as e:  # no driver / library: a CPU machine
        return NodeHealth(host, True, 0, [], [], f"no NVIDIA GPU (NVML: {e}): CPU path, nothing to check", [])
    try:
        count = nvml.nvmlDeviceGetCount()
        if count == 0:
            return NodeHealth(host, True, 0, [], [], "NVML finds no GPU: CPU path, nothing to check", [])
        gpus = [check_gpu(nvml, i, limits) for i in range(count)]
        handles = {i: nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)}
        xids, xid_note = xid_events(nvml, handles, limits.xid_wait_ms)
        for index, codes in xids.items():
            bad = sorted(set(codes) & NODE_FAULT_XIDS)
            if bad and 0 <= index < count:
                gpus[index].reasons.append(f"Xid {', '.join(map(str, bad))} (node fault)")
                gpus[index].healthy = False
            elif codes and 0 <= index < count:
                gpus[index].notes.append(f"Xid {', '.join(map(str, sorted(set(codes))))} (application errors)")
    finally:
        nvml.nvmlShutdown()
    reasons = [f"GPU {g.index} ({g.name}): {r}" for g in gpus for r in g.reasons]
    good = [g.index for g in gpus if g.healthy]
    return NodeHealth(host, not reasons, count, good, reasons, f"{len(good)} of {count} GPUs healthy; {xid_note}",
                      [asdict(g) for g in gpus])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.launch.health", description=__doc__)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.add_argument("--xid-wait-ms", type=int, default=Limits.xid_wait_ms)
    a = p.parse_args(argv)
    result = check_node(Limits(xid_wait_ms=a.xid_wait_ms))
    if a.json:
        print(json.dumps(asdict(result)))
    else:
        print(f"{result.host}: {'healthy' if result.healthy else 'UNHEALTHY'} - {result.note}")
        for r in result.reasons:
            print(f"  {r}")
    return 0 if result.healthy else UNHEALTHY_EXIT


if __name__ == "__main__":
    sys.exit(main())
