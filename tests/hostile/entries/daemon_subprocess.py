"""Finding 3: a detached subprocess (its own session) that must not outlive the job."""

import subprocess

from .hostile_util import Base


class Entry(Base):
    def load(self, ctx):
        subprocess.Popen(
            ["sleep", "987.654"],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
