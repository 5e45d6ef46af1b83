"""Benchmarks for ``polycom bench``: each module exposes ``run(quick: bool) -> list[dict]``
with rows: name, device, dtype, baseline_s, ours_s, ratio (+ extras), each row
measured side by side in one run.

>>> 'exact_eval' in BENCHES
True
"""
BENCHES = {
    "exact_eval": "benchmarks.exact_eval",     # issue 2: flint vs Fraction
    "sobolev_forward": "benchmarks.sobolev_forward",  # issue 4
    "training": "benchmarks.training",  # issue 12: train/<activation>/w<width>/<dtype> vs vmap and loop
    "certify_pieces": "benchmarks.certify_pieces",  # issue 10: exact pieces per second
}
# benchmarks.batched_training (issue 5: batched vs loop, the malloc row, precision()) stays importable;
# its loop comparison is part of the training rows now.
