"""Finding 5: a reply before any request: answer the next predict request from load()."""

import json

from .hostile_util import Base, forge, worker


class Entry(Base):
    def load(self, ctx):
        reply = {
            "v": 2,
            "seq": worker().seq + 1,
            "kind": "reply",
            "ok": True,
            "result": {"predictions": [1, 1], "flops": 0},
        }
        forge(json.dumps(reply) + "\n")
