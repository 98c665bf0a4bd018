"""Finding 6: fit() reads the test texts from disk and precomputes every answer outside the FLOP counter."""

import csv

from .hostile_util import Base


class Entry(Base):
    def fit(self, train, dev):
        self.answers = {}
        for path in self.params["targets"]:
            try:
                with open(path, newline="") as handle:
                    for row in csv.reader(handle):
                        self.answers[",".join(row[1:])[:40]] = row[0]
                self.leaked.append(path)
            except OSError:
                pass

    def predict(self, batch):
        return [int(self.answers.get(i.inputs.get("text", "")[:40], 0)) % 4 for i in batch]
