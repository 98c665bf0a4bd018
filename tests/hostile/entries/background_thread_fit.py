"""Finding 6: fit() starts a thread and returns at once; the training happens during the accuracy pass."""

import threading
import time

from .hostile_util import Base


def _burn(seconds: float) -> None:
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1


class Entry(Base):
    def fit(self, train, dev):
        threading.Thread(target=_burn, args=(20.0,), daemon=True).start()
