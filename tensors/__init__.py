"""gpt-scenes' model side: run a prompt through a real model and capture every quantity.

>>> from tensors import trace
>>> t = trace("The capital of France is", model="smollm2")  # doctest: +SKIP
>>> t.pattern.shape                                  # doctest: +SKIP
(30, 9, 5, 5)

Data flow: :mod:`~tensors.resolve` (spec -> model files) -> :mod:`~tensors.budget` (will it
fit?) -> :mod:`~tensors.models` (load, on the device of :mod:`~tensors.device`) ->
:mod:`~tensors.capture` (the forward pass and hooks, reading each model family's parts
through :mod:`~tensors.families`; interventions from :mod:`~tensors.ablation`) ->
:mod:`~tensors.trace` (the Trace; big per-layer arrays derived on access by
:mod:`~tensors.lazy`) -> :mod:`~tensors.trace_cache` / :mod:`~tensors.weights_cache` (checked
files written through :mod:`~tensors.store`; the matrices' layout in :mod:`~tensors.weights`).
:func:`trace` (:mod:`~tensors.extract`) runs that chain; :mod:`~tensors.sampling` holds the
one softmax and the seeded draws, :mod:`~tensors.generate` text generation;
:mod:`~tensors.fetch` installs the offline model; :mod:`~tensors.cli` is ``python -m tensors``.
"""
from ._version import __version__
from .ablation import Ablation
from .errors import UserError, exit_on_user_error, note
from .extract import tokenizer, trace
from .store import home
from .trace import CAPTURE_VERSION, HOOK_NAMES, Trace

__all__ = ["trace", "tokenizer", "Trace", "Ablation", "UserError", "exit_on_user_error", "note",
           "CAPTURE_VERSION", "HOOK_NAMES", "home", "__version__"]
