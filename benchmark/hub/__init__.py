"""The Hugging Face Hub side of greenbench: pinned Hub models as submissions, results published to
and pulled from a Hub dataset, and model-card metadata. Everything here works offline against the
local Hub cache, because the Hub is often unreachable from the machines that run the benchmark."""
