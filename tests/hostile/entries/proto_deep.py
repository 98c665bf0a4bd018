"""Finding 5: a deeply nested JSON reply (RecursionError in a naive parser)."""

import json

from .hostile_util import Base, forge, worker


class Entry(Base):
    def predict(self, batch):
        head = json.dumps({"v": 2, "seq": worker().seq, "kind": "reply", "ok": True})[:-1]
        forge(head + ', "result": ' + "[" * 200_000 + "]" * 200_000 + "}\n")
        return [0] * len(batch)
