"""Finding 5: a reply that is a JSON list, not an object (AttributeError in a naive parser)."""

from .hostile_util import Base, forge


class Entry(Base):
    def predict(self, batch):
        forge("[]\n")
        return [0] * len(batch)
