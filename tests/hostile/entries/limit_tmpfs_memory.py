"""Finding 4: fill the sandbox's tmpfs /tmp past the memory cap (tmpfs pages are memory)."""

from .hostile_util import Base


class Entry(Base):
    def predict(self, batch):
        written = 0
        chunk = b"x" * (8 << 20)
        try:
            with open("/tmp/fill.bin", "wb") as handle:
                while written < self.params["fill_bytes"]:
                    handle.write(chunk)
                    handle.flush()
                    written += len(chunk)
        except OSError:
            pass
        self.leaked = [f"wrote {written} bytes"] if written >= self.params["fill_bytes"] else []
        return [0] * len(batch)
