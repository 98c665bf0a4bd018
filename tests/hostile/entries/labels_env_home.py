"""Finding 1: look for the data and tokens through the environment, $HOME and the Hugging Face caches."""

import os
from pathlib import Path

from .hostile_util import Base


class Entry(Base):
    def load(self, ctx):
        for key, value in os.environ.items():
            if key.endswith(("_TOKEN", "_KEY")) or "GREENBENCH" in key or "/work" in value:
                self.leaked.append(f"env {key}={value}")
        places = ["/root/.cache", "/root/.ssh", "/root/.cache/huggingface", "/home", "/work", "/work/shared/data"]
        places += [str(Path.home() / ".cache" / "huggingface"), os.path.expanduser("~root/.netrc")]
        for place in places:
            if os.path.exists(place):
                self.leaked.append(place)
