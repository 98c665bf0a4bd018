"""Finding 5: a reply line without end, past the size bound."""

from .hostile_util import Base, forge


class Entry(Base):
    def predict(self, batch):
        chunk = "9" * (1 << 20)
        for _ in range(self.params["fill_mib"]):
            forge(chunk)
        return [0] * len(batch)
