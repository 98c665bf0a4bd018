"""Finding 7: code imported from a symlinked folder outside the submission (outside its digest)."""

import importlib.util
import os

from .hostile_util import Base


class Entry(Base):
    def load(self, ctx):
        lib = os.path.join(str(ctx.submission_dir), "lib", "outside.py")
        try:
            spec = importlib.util.spec_from_file_location("outside", lib)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.leaked.append(f"ran code from outside: {module.VALUE}")
        except (OSError, AttributeError, ImportError):
            pass
