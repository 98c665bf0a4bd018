"""Finding 8: leave a symlink in its weights folder that points at another entry's cache, for the harness to follow."""

import os

from .hostile_util import Base


class Entry(Base):
    def fit(self, train, dev):
        os.symlink(self.params["other_cache"], os.path.join(str(self.ctx.weights_dir), "model.bin"))
        os.mkfifo(os.path.join(str(self.ctx.weights_dir), "fifo"))
