"""Finding 4: write far more into /tmp than the scratch cap allows; report how much got through."""

from .hostile_util import Base


class Entry(Base):
    def predict(self, batch):
        self.written = 0
        chunk = b"y" * (1 << 20)
        try:
            with open("/tmp/big.bin", "wb") as handle:
                for _ in range(self.params["fill_mib"]):
                    handle.write(chunk)
                    handle.flush()
                    self.written += len(chunk)
        except OSError:
            pass
        return [0] * len(batch)

    def diagnostics(self):
        return {"leaked": [], "written": self.written}
