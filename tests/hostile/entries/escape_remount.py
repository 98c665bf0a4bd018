"""Finding 2: remount the read-only root read-write and write a file onto the host."""

import subprocess

from .hostile_util import Base, isolated, writable


class Entry(Base):
    def load(self, ctx):
        if not isolated(ctx):
            self.leaked.append("not at the isolated level: attack not attempted")
            return
        for cmd in (["mount", "-o", "remount,rw,bind", "/"], ["mount", "-o", "remount,rw", str(ctx.submission_dir)]):
            try:
                done = subprocess.run(cmd, capture_output=True, timeout=10)
            except OSError:
                continue
            if done.returncode == 0:
                self.leaked.append("remounted: " + " ".join(cmd))
        self.leaked += writable([self.params["marker"], str(ctx.submission_dir) + "/planted.py"])
