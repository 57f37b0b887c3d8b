"""Node health: the CPU path on this machine, and verdicts over NVML readings (a scripted NVML with pynvml's own
exception classes and constants, since no GPU is here)."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pynvml
import pytest

from train.launch.health import Limits, check_node


class ScriptedNvml:
    """The NVML calls check_node makes, answering from per-GPU dicts; a value that is an exception class raises."""
    NVMLError = pynvml.NVMLError
    NVMLError_NotSupported = pynvml.NVMLError_NotSupported
    NVMLError_Timeout = pynvml.NVMLError_Timeout
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
    NVML_VOLATILE_ECC = pynvml.NVML_VOLATILE_ECC
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = pynvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN
    nvmlEventTypeXidCriticalError = pynvml.nvmlEventTypeXidCriticalError

    def __init__(self, gpus: list[dict], xids: list[tuple[int, int]] = ()):
        self.gpus, self.xids, self.shut = gpus, list(xids), False

    def _get(self, h, key, default):
        value = self.gpus[h].get(key, default)
        if isinstance(value, type) and issubclass(value, Exception):
            raise value(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return value

    def nvmlInit(self): pass
    def nvmlShutdown(self): self.shut = True
    def nvmlDeviceGetCount(self): return len(self.gpus)
    def nvmlDeviceGetHandleByIndex(self, i): return i
    def nvmlDeviceGetIndex(self, h): return h
    def nvmlDeviceGetName(self, h): return b"NVIDIA H100 80GB HBM3"
    def nvmlDeviceGetTotalEccErrors(self, h, kind, counter): return self._get(h, "ecc", 0)
    def nvmlDeviceGetRetiredPagesPendingStatus(self, h): return self._get(h, "pages_pending", 0)
    def nvmlDeviceGetRemappedRows(self, h): return self._get(h, "rows", (0, 0, 0, 0))
    def nvmlDeviceGetTemperature(self, h, sensor): return self._get(h, "temp", 40)
    def nvmlDeviceGetTemperatureThreshold(self, h, kind): return self._get(h, "slowdown", 90)
    def nvmlEventSetCreate(self): return "events"
    def nvmlDeviceRegisterEvents(self, h, kinds, events): pass
    def nvmlEventSetFree(self, events): pass

    def nvmlEventSetWait(self, events, timeout_ms):
        if not self.xids:
            raise pynvml.NVMLError_Timeout(pynvml.NVML_ERROR_TIMEOUT)
        gpu, xid = self.xids.pop(0)
        return SimpleNamespace(device=gpu, eventData=xid)


def test_this_machine_has_no_gpu_and_says_so():
    r = subprocess.run([sys.executable, "-m", "train.launch.health", "--json"], capture_output=True, text=True,
                       timeout=60)
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["healthy"] and out["gpus"] == 0
    assert "CPU path" in out["note"]


def test_healthy_gpus_pass_and_unsupported_counters_are_notes():
    nvml = ScriptedNvml([{}, {"ecc": pynvml.NVMLError_NotSupported, "rows": pynvml.NVMLError_NotSupported}])
    r = check_node(Limits(xid_wait_ms=0), nvml)
    assert r.healthy and r.good_gpus == [0, 1] and r.reasons == [] and nvml.shut
    assert r.details[1]["notes"] == ["uncorrected ECC: not supported", "remapped rows: not supported"]


@pytest.mark.parametrize("reading, reason", [
    ({"ecc": 2}, "2 uncorrected ECC errors"),
    ({"pages_pending": 1}, "pages wait for retirement"),
    ({"rows": (0, 3, 1, 0)}, "row remapping pending (3 uncorrectable rows"),
    ({"rows": (0, 0, 0, 1)}, "row remapping failed"),
    ({"temp": 86, "slowdown": 90}, "86 C, at or above 85 C (90 C slows the clocks)"),
    ({"temp": 88, "slowdown": pynvml.NVMLError_NotSupported}, "88 C, at or above 87 C"),
])
def test_each_fault_marks_only_its_gpu(reading, reason):
    r = check_node(Limits(xid_wait_ms=0), ScriptedNvml([{}, reading, {}]))
    assert not r.healthy and r.good_gpus == [0, 2]
    assert len(r.reasons) == 1 and r.reasons[0].startswith("GPU 1 (NVIDIA H100 80GB HBM3): ") and reason in r.reasons[0]


def test_node_fault_xids_fail_the_gpu_application_xids_do_not():
    r = check_node(Limits(xid_wait_ms=1), ScriptedNvml([{}, {}], xids=[(0, 13), (1, 79), (1, 31)]))
    assert r.good_gpus == [0] and r.reasons == ["GPU 1 (NVIDIA H100 80GB HBM3): Xid 79 (node fault)"]
    assert r.details[0]["notes"] == ["Xid 13 (application errors)"]
