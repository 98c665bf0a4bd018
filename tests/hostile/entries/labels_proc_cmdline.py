"""Finding 1 at the netns level: read the harness's command line (--data-dir) and environment from /proc."""

import os

from .hostile_util import Base


class Entry(Base):
    def load(self, ctx):
        me = {os.getpid(), os.getppid()}
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            for name in ("cmdline", "environ"):
                try:
                    raw = open(f"/proc/{pid}/{name}", "rb").read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if any(word in raw for word in ("pytest", "greenbench run", "--data-dir", "GREENBENCH")):
                    self.leaked.append(f"/proc/{pid}/{name}: {raw[:80]}")
        ppid = os.getppid()
        if ppid not in me or ppid > 1:
            try:
                raw = open(f"/proc/{ppid}/cmdline", "rb").read()
                if b"pytest" in raw or b"greenbench" in raw:
                    self.leaked.append(f"ppid cmdline {raw[:80]!r}")
            except OSError:
                pass
