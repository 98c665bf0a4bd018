"""A well-behaved entry: the job after each hostile one must complete with it."""

from .hostile_util import Base


class Entry(Base):
    def fit(self, train, dev):
        self.ctx.report_progress(1, 1, loss=0.5, note="done")
