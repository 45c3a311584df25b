"""Willingness to pay from survey data: one module per method, and the shared posterior file format.

Only this package imports PyMC; `pricing.wtp.posterior` (what the simulator uses) needs ArviZ only, and the
method modules are imported on first use so that loading a saved posterior stays quick.
"""

from pricing.wtp.posterior import (
    SamplingWarning,
    diagnose,
    load_posterior,
    posterior_draws,
    save_posterior,
)

__all__ = ["SamplingWarning", "diagnose", "load_posterior", "posterior_draws", "save_posterior"]
