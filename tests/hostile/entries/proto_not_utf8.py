"""Finding 5: a reply that is not UTF-8."""

from .hostile_util import Base, forge


class Entry(Base):
    def predict(self, batch):
        forge(b'{"v": 2, "seq": 3, "kind": "reply", "ok": true, "result": "\xff\xfe"}\n')
        return [0] * len(batch)
