"""Finding 8: overwrite another entry's cached weights (by path, and next to its own weights folder)."""

import os

from .hostile_util import Base, writable


class Entry(Base):
    def fit(self, train, dev):
        own = str(self.ctx.weights_dir)
        self.leaked = writable([self.params["other_cache"], os.path.join(own, "..", "other-entry", "model.bin")])
        try:
            os.makedirs(os.path.join(own, "..", "planted"), exist_ok=True)
            self.leaked.append("made a folder beside its own weights")
        except OSError:
            pass
