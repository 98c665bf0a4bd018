"""Finding 5: a reply carrying another request's sequence number."""

import json

from .hostile_util import Base, forge, worker


class Entry(Base):
    def predict(self, batch):
        fake = {
            "v": 2,
            "seq": worker().seq + 7,
            "kind": "reply",
            "ok": True,
            "result": {"predictions": [0] * len(batch), "flops": 0},
        }
        forge(json.dumps(fake) + "\n")
        return [0] * len(batch)
