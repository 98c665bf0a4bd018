"""Finding 5: half a reply, then exit."""

import os

from .hostile_util import Base, forge


class Entry(Base):
    def predict(self, batch):
        forge('{"v": 2, "seq": ')
        os._exit(0)
