"""Finding 4: one huge file in the writable weights folder (the host's disk)."""

import os

from .hostile_util import Base


class Entry(Base):
    def predict(self, batch):
        self.written = 0
        chunk = b"z" * (1 << 20)
        try:
            with open(os.path.join(str(self.ctx.weights_dir), "huge.bin"), "wb") as handle:
                for _ in range(self.params["fill_mib"]):
                    handle.write(chunk)
                    handle.flush()
                    self.written += len(chunk)
        except OSError:
            pass
        return [0] * len(batch)

    def diagnostics(self):
        return {"leaked": [], "written": self.written}
