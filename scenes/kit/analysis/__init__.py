"""Pure rules on real numbers (numpy only, no drawing): what the scenes choose to show.

- :mod:`.attention` — head choice, attending token, which positions get columns;
- :mod:`.embedding` — vector sources, PCA, analogies, directions;
- :mod:`.output` — the temperature sweep and knob, norm statistics.
"""
