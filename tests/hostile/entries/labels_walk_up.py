"""Finding 1: walk up from the entry's own folder (and its module file) to a data folder with test.csv."""

from pathlib import Path

from .hostile_util import Base, walk_for


class Entry(Base):
    def load(self, ctx):
        names = {"test.csv", "test.jsonl", "test.parquet", "run.json", "predictions.jsonl"}
        self.leaked = walk_for(names, Path(ctx.submission_dir)) + walk_for(names, Path(__file__).resolve().parent)
