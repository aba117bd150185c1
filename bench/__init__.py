"""Benchmarks run by `ga-intel bench`. Each measurement is reported with the baseline it
was measured against in the same run (these machines are shared and noisy: compare
ratios, not seconds)."""
