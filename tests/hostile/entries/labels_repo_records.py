"""Finding 1: reach the repository through the harness's own package path: records, other entries, data."""

from pathlib import Path

import benchmark

from .hostile_util import Base


class Entry(Base):
    def load(self, ctx):
        root = Path(benchmark.__file__).resolve().parent.parent
        for name in ("leaderboard", "submissions", "data", ".git", "runs", "tests"):
            if (root / name).exists():
                self.leaked.append(str(root / name))
