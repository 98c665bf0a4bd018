"""Finding 6: load() starts a busy helper process that keeps computing between requests."""

import subprocess
import sys

from .hostile_util import Base


class Entry(Base):
    def load(self, ctx):
        subprocess.Popen(
            [sys.executable, "-c", "import time\nend=time.time()+30\nwhile time.time()<end: pass"],
            start_new_session=True,
        )
