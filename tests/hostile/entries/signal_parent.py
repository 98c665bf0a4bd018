"""Finding 3: SIGKILL the harness (the parent, every process it can see, and kill(-1))."""

import os
import signal

from .hostile_util import Base, isolated


class Entry(Base):
    def load(self, ctx):
        if not isolated(ctx):
            self.leaked.append("not at the isolated level: attack not attempted")
            return
        ppid = os.getppid()
        if ppid > 1:
            try:
                os.kill(ppid, signal.SIGKILL)
                self.leaked.append(f"killed ppid {ppid}")
            except OSError:
                pass
        try:
            os.kill(self.params["harness_pid"], 0)
            self.leaked.append("the harness pid is signallable")
        except OSError:
            pass
