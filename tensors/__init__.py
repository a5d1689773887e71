"""gpt-scenes' model side: run a real model on a prompt, capture what the scenes show.

>>> from tensors import trace
>>> t = trace("The capital of France is")          # doctest: +SKIP
>>> t.pattern.shape                                  # doctest: +SKIP
(30, 9, 5, 5)

Modules: :mod:`tensors.models` (resolve/fetch/load), :mod:`tensors.families` (one module
per model family: where its parts are, its weight layout), :mod:`tensors.capture` (the
forward pass and hooks), :mod:`tensors.ablation` (interventions), :mod:`tensors.trace` (the
Trace and its cache), :mod:`tensors.weights` (canonical matrices, memory-mapped),
:mod:`tensors.sampling` (the one softmax, seeded draws), :mod:`tensors.generate` (text
generation), :mod:`tensors.cli` (``python -m tensors``).
"""
from .ablation import Ablation
from .errors import UserError, exit_on_user_error
from .trace import CAPTURE_VERSION, Trace, trace

__all__ = ["trace", "Trace", "Ablation", "UserError", "exit_on_user_error", "CAPTURE_VERSION"]
