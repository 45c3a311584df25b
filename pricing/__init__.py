"""Value-based pricing: Bayesian willingness-to-pay per segment, perceived value and a posterior simulator."""

__version__ = "0.1.0"
