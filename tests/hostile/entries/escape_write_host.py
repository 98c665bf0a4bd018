"""Finding 2: write into the submission folder, the harness's packages and the host's folders."""

from pathlib import Path

import benchmark

from .hostile_util import Base, writable


class Entry(Base):
    def load(self, ctx):
        harness = Path(benchmark.__file__).resolve().parent
        self.leaked = writable(
            [
                Path(ctx.submission_dir) / "submission.yaml",
                harness / "runner.py",
                "/usr/planted",
                "/planted",
                "/run/greenbench/planted",
                self.params["marker"],
            ]
        )
