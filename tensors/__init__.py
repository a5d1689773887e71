"""gpt-scenes' model side: run a real model on a prompt, capture what the scenes show.

>>> from tensors import trace
>>> t = trace("The capital of France is")          # doctest: +SKIP
>>> t.pattern.shape                                  # doctest: +SKIP
(30, 9, 5, 5)

Data flow: :mod:`~tensors.resolve` (spec -> model files) -> :mod:`~tensors.budget` (will it
fit?) -> :mod:`~tensors.models` (load, on the device of :mod:`~tensors.device`) ->
:mod:`~tensors.capture` (the forward pass and hooks) -> :mod:`~tensors.trace` (the Trace) ->
:mod:`~tensors.trace_cache` / :mod:`~tensors.weights_cache` (checked files written through
:mod:`~tensors.store`). :func:`trace` (:mod:`~tensors.extract`) runs that chain;
:mod:`~tensors.fetch` installs the offline model; :mod:`~tensors.cli` is ``python -m tensors``.
"""
from .errors import UserError, exit_on_user_error, note
from .extract import trace
from .trace import CAPTURE_VERSION, Trace

__all__ = ["trace", "Trace", "UserError", "exit_on_user_error", "note", "CAPTURE_VERSION"]
