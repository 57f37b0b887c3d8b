"""`python -m train` with a pause before each step (fetching its batch), so a test can SIGKILL it between steps."""
from __future__ import annotations

import os
import sys
import time

from train.data import TokenStream

_fetch = TokenStream.next_global_batch


def _slow_fetch(self, *args, **kwargs):
    time.sleep(float(os.environ.get("TRAIN_TEST_STEP_PAUSE_S", "0.5")))
    return _fetch(self, *args, **kwargs)


if __name__ == "__main__":
    TokenStream.next_global_batch = _slow_fetch
    from train.__main__ import main

    sys.exit(main())
