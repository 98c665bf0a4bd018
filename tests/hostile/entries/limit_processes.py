"""Finding 4: fork until something stops it (a fork bomb), children sleeping so nothing else gives."""

import os
import time

from .hostile_util import Base


class Entry(Base):
    def predict(self, batch):
        self.started = 0
        for _ in range(self.params["forks"]):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(600)
                os._exit(0)
            self.started += 1
        return [0] * len(batch)

    def diagnostics(self):
        return {"leaked": [], "started": self.started}
