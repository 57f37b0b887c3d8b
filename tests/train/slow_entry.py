"""`python -m train` that stops (sleeps) before fetching the batch of step k + 1, so a test can SIGKILL it there."""
from __future__ import annotations

import os
import sys
import time

from train.data import TokenStream

_fetch = TokenStream.next_global_batch
_calls = [0]


def _fetch_then_hang(self, *args, **kwargs):
    _calls[0] += 1
    if _calls[0] > int(os.environ["TRAIN_TEST_HANG_AFTER_STEP"]):
        time.sleep(600)  # the test kills the process here: after step k, checkpoints of steps <= k written
    return _fetch(self, *args, **kwargs)


if __name__ == "__main__":
    TokenStream.next_global_batch = _fetch_then_hang
    from train.__main__ import main

    sys.exit(main())
