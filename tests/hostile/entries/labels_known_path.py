"""Finding 1: open the label files at the paths a submitter can guess (the shared data folder, the repo)."""

from .hostile_util import Base, readable


class Entry(Base):
    def load(self, ctx):
        self.leaked = readable(self.params["targets"])
