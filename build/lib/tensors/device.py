"""Which device a model runs on: the one asked for, if this machine can use it, else the best.

``device=None`` picks cuda > mps > cpu; ``$GPT_SCENES_DEVICE`` (or ``--device``) chooses.
A device this machine cannot use is a :class:`~tensors.UserError` naming what it can use,
raised before any model is loaded.

>>> pick_device("cpu")
'cpu'
>>> pick_device("tpu")
Traceback (most recent call last):
...
tensors.errors.UserError: device 'tpu' (from --device/device=) is not one this machine can use; use one of: cpu
"""
from __future__ import annotations

import os

from .errors import UserError


def usable_devices() -> list[str]:
    """The devices this machine can run a model on, best last: cpu, mps, cuda, cuda:0 …"""
    import torch

    out = ["cpu"]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    if torch.cuda.is_available():
        out += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return out


def explicit_device(device: str | None = None) -> bool:
    """Was a device asked for (argument or ``$GPT_SCENES_DEVICE``)?"""
    return bool(device or os.environ.get("GPT_SCENES_DEVICE"))


def pick_device(device: str | None = None) -> str:
    """``device`` (else ``$GPT_SCENES_DEVICE``) checked against :func:`usable_devices`, or
    the best usable one when neither is set."""
    source = "--device/device="
    if not device:
        device, source = os.environ.get("GPT_SCENES_DEVICE") or None, "GPT_SCENES_DEVICE"
    name = str(device or "").strip().lower()
    if name == "cpu":  # always usable; no torch import
        return name
    usable = usable_devices()
    if not name:
        return "cuda" if "cuda" in usable else usable[-1]
    if name not in usable:
        why = ""
        if name.startswith("cuda") and "cuda" not in usable:
            why = " (CUDA is not available here)"
        elif name == "mps":
            why = " (MPS needs Apple silicon)"
        raise UserError(f"device {device!r} (from {source}) is not one this machine can use{why}; "
                        f"use one of: {', '.join(usable)}"
                        + (", or unset GPT_SCENES_DEVICE" if source == "GPT_SCENES_DEVICE" else ""))
    return name
