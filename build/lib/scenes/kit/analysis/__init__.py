"""Pure rules on real numbers (numpy only, no drawing): what the scenes choose to show,
computed from a Trace's arrays and the model's shapes, so it can be doctested.

- :mod:`.attention` — head choice, attending token, which positions get columns;
- :mod:`.embedding` — vector sources, PCA, analogies, directions;
- :mod:`.output` — the temperature sweep and knob, norm statistics;
- :mod:`.mlp` — the MLP's activation functions, per-layer and per-neuron attribution;
- :mod:`.stack` — parameter counts per component; the size of each block's writes;
- :mod:`.lens` — the logit lens: top token, probability and rank per layer and position;
- :mod:`.kvcache` — keys/values of two runs compared; multiply-adds per generation step.
"""
