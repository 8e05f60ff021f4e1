"""Device names: which ones a config accepts, and which device a name means on this machine."""

from __future__ import annotations

import re

import torch

from .errors import GanlibError

# the device names TrainConfig takes; "cuda:N" (the N-th CUDA device) is valid too
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
_CUDA_INDEX = re.compile(r"cuda:(0|[1-9][0-9]*)")


def check_device(name: object) -> str:
    """``name`` if it names a device: auto, cpu, cuda, cuda:N or mps; else a one-line ``GanlibError``.
    Whether this machine has it is checked when training starts (``resolve_device``)."""
    if isinstance(name, str) and (name in DEVICES or _CUDA_INDEX.fullmatch(name)):
        return name
    raise GanlibError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}, cuda:N (N = 0, 1, ...)")


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device that is missing is an error."""
    check_device(name)
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    kind = name.split(":")[0]
    if (kind == "cuda" and not cuda) or (kind == "mps" and not mps):
        raise GanlibError(f"device {name!r} is not available on this machine; choose auto or cpu")
    if kind == "cuda" and ":" in name and int(name[5:]) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise GanlibError(f"device {name!r} is not available on this machine; it has {count} CUDA device(s), "
                          f"cuda:0 to cuda:{count - 1}")
    return torch.device(name)


def no_graph_message(device: str) -> str:
    """The one-line error for ``cuda_graph`` on a device without CUDA graphs."""
    return (f"cuda_graph needs a CUDA device, but the device is {device!r}; "
            f"choose device 'cuda' or switch cuda_graph off")
