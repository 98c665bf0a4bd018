"""Finding 6: a thread that waits out the quiet window after fit, then works between predict requests."""

import threading
import time

from .hostile_util import Base


def _later() -> None:
    time.sleep(1.5)
    end = time.time() + 30
    while time.time() < end:
        pass


class Entry(Base):
    def fit(self, train, dev):
        threading.Thread(target=_later, daemon=True).start()
