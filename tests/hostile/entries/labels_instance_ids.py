"""Finding 1: answer from the instance ids (``test-<row>`` names the public row) and keep them for later."""

from .hostile_util import Base


class Entry(Base):
    seen: list

    def fit(self, train, dev):
        self.seen = [i.id for i in train] + [i.id for i in dev]

    def predict(self, batch):
        self.seen = getattr(self, "seen", []) + [i.id for i in batch]
        self.leaked = [i for i in self.seen if i.startswith(("test-", "train-", "dev-"))]
        return [0] * len(batch)

    def diagnostics(self):
        return {"leaked": self.leaked, "seen": self.seen}
