"""Finding 5: an extra reply to desynchronise the stream (batch 2 scored with batch 1's predictions)."""

import json

from .hostile_util import Base, forge, worker


class Entry(Base):
    def predict(self, batch):
        fake = {
            "v": 2,
            "seq": worker().seq,
            "kind": "reply",
            "ok": True,
            "result": {"predictions": [3] * len(batch), "flops": 0},
        }
        forge(json.dumps(fake) + "\n")
        return [0] * len(batch)  # the worker's genuine reply follows: one reply too many
