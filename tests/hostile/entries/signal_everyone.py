"""Finding 3: stop every process visible in /proc, then kill(-1, SIGKILL) (the child may die, the harness must not)."""

import os
import signal

from .hostile_util import Base, isolated


class Entry(Base):
    def predict(self, batch):
        if not isolated(self.ctx):
            self.leaked.append("not at the isolated level: attack not attempted")
            return [0] * len(batch)
        me = os.getpid()
        for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
            if pid not in (me, 1):
                try:
                    os.kill(pid, signal.SIGSTOP)
                except OSError:
                    pass
        try:
            os.kill(-1, signal.SIGKILL)  # as pid 1 of its namespace there is no one else to kill
        except ProcessLookupError:
            pass
        return [0] * len(batch)
