"""Finding 3: a double-forked, setsid daemon started in load() that rewrites files after the job."""

import os
import time

from .hostile_util import Base


class Entry(Base):
    def load(self, ctx):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.closerange(0, 256)
                for _ in range(8):  # sleeps quietly (no CPU), then acts once the job is over
                    time.sleep(0.25)
                for path in (os.path.join(str(ctx.weights_dir), "late.txt"), self.params["marker"]):
                    try:
                        open(path, "w").write("daemon was here")
                    except OSError:
                        pass
                os._exit(0)
            os._exit(0)
        os.wait()
