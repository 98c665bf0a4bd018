"""Finding 5: a reply of the wrong shape: predictions as a mapping, a negative FLOP count."""

import json

from .hostile_util import Base, forge, worker


class Entry(Base):
    def predict(self, batch):
        fake = {
            "v": 2,
            "seq": worker().seq,
            "kind": "reply",
            "ok": True,
            "result": {"predictions": {"a": 1}, "flops": -5},
        }
        forge(json.dumps(fake) + "\n")
        return [0] * len(batch)
