"""Finding 5: a progress message with NaN (not JSON) and a forged hello in the middle of a request."""

import json

from .hostile_util import Base, forge, worker


class Entry(Base):
    def fit(self, train, dev):
        forge(
            json.dumps(
                {
                    "v": 2,
                    "seq": worker().seq,
                    "kind": "progress",
                    "step": 1,
                    "total": 2,
                    "loss": float("nan"),
                    "note": "",
                }
            )
            + "\n"
        )
