"""Finding 2: keep root's capabilities (CAP_SYS_ADMIN) and use them: setuid, chroot, a new mount."""

import ctypes
import os

from .hostile_util import Base, isolated


class Entry(Base):
    def load(self, ctx):
        if not isolated(ctx):
            self.leaked.append("not at the isolated level: attack not attempted")
            return
        status = open("/proc/self/status").read()
        for line in status.splitlines():
            if line.startswith(("CapEff", "CapPrm", "CapBnd")) and int(line.split()[1], 16) != 0:
                self.leaked.append(line)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0:
            self.leaked.append("mounted a tmpfs")
        try:
            os.setuid(0)
            if os.getuid() == 0:
                self.leaked.append("uid 0")
        except OSError:
            pass
