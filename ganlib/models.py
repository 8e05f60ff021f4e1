"""Generators and discriminators: a DCGAN pair for 28×28×1 images, a small MLP pair for 2-D toys.

Every discriminator returns raw logits of shape (B, 1): the losses apply σ themselves.
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import check_choice

ARCHS: tuple[str, ...] = ("dcgan", "toy")
# "spectral": no normalisation layer; every conv and linear weight W of the discriminator is divided by its
# largest singular value σ(W), estimated by one power-iteration step per forward pass (Miyato et al. 2018)
NORMS: tuple[str, ...] = ("batch", "layer", "spectral", "none")
IMAGE_SHAPE = (1, 28, 28)


def _norm2d(kind: str, channels: int) -> nn.Module:
    """Normalisation for conv features: GroupNorm with one group is layer norm over (C, H, W)."""
    check_choice("discriminator norm", kind, NORMS)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()  # "none", and "spectral", which normalises the weights instead (spectral_normalise)


class AtenConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (the same parameters; the same result up to float rounding) whose forward on
    the CPU uses ATen's kernel.

    oneDNN, torch's default CPU backend for convolutions, is slow for a transposed convolution with one
    output channel: the generator's last layer, (64, 64, 14, 14) → (64, 1, 28, 28), took 6.7 ms in
    oneDNN and 0.46 ms in ATen's kernel on a 2-core CPU. The backward stays on oneDNN, the
    faster of the two there (2.4 against 6.2 ms). The switch is torch's process-wide flag, turned off
    for this one call and on again after it.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not torch.backends.mkldnn.enabled:
            return super().forward(x)
        torch.backends.mkldnn.enabled = False
        try:
            return super().forward(x)
        finally:
            torch.backends.mkldnn.enabled = True


# each of ganlib's layers and the torch layer it computes (a tutorial's network uses the second)
STOCK_LAYERS: dict[type, type] = {AtenConvTranspose2d: nn.ConvTranspose2d}


class DCGANGenerator(nn.Module):
    """z (B, z_dim) → 128·7·7 → ConvT 14×14 → ConvT 28×28 → tanh, images in [−1, 1]."""

    def __init__(self, z_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * width * 7 * 7, bias=False),
            nn.Unflatten(1, (2 * width, 7, 7)),
            nn.BatchNorm2d(2 * width), nn.ReLU(True),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(True),
            AtenConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """28×28 → Conv 14×14 → Conv 7×7 (normalised) → linear logit; LeakyReLU(0.2) throughout."""

    def __init__(self, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=norm in ("none", "spectral")),
            _norm2d(norm, 2 * width), nn.LeakyReLU(0.2, True),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _norm1d(kind: str, features: int) -> nn.Module:
    check_choice("discriminator norm", kind, NORMS)
    return {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}.get(kind, lambda _: nn.Identity())(features)


class ToyGenerator(nn.Module):
    """Small MLP z (B, z_dim) → point in the plane (B, 2), bounded: G(z) = s·tanh(h(z)/s).

    The bound s plays the part tanh plays for images: without it the generator's points can run far
    away from the data, where a LeakyReLU discriminator is linear and keeps pushing them further (seen
    on the ring at every seed we tried). Near the data (|h| ≪ s) the map is close to the identity.
    """

    def __init__(self, z_dim: int = 16, hidden: int = 128, scale: float = 3.0) -> None:
        super().__init__()
        self.z_dim, self.scale = z_dim, scale
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(True),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Linear(hidden, 2),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.tanh(self.net(z) / self.scale)


class ToyDiscriminator(nn.Module):
    """Small MLP point (B, 2) → logit (B, 1)."""

    def __init__(self, hidden: int = 128, norm: str = "none") -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, hidden), nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, hidden), _norm1d(norm, hidden), nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def spectral_normalise(net: nn.Module) -> nn.Module:
    """Replace every conv and linear weight W of ``net`` by W / σ(W) (torch's spectral-norm parametrization).

    σ(W) is the largest singular value of W reshaped to (out, rest); u and v, its singular vectors, are
    refined by one power-iteration step u ← W v / ‖W v‖, v ← Wᵀ u / ‖Wᵀ u‖ per training forward pass, and
    σ(W) ≈ uᵀ W v. Linear layers of spectral norm 1 and 1-Lipschitz activations make a 1-Lipschitz network.
    For a convolution, σ of the kernel reshaped to (out, in·k·k) stands in for the layer's operator norm,
    which it does not equal, so the bound is approximate there (Miyato et al. 2018 make the same choice).
    """
    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)
    return net


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv and linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build_models(arch: str, z_dim: int, d_norm: str, toy_scale: float = 3.0) -> tuple[nn.Module, nn.Module]:
    """Return an initialised (generator, discriminator) pair of architecture ``arch``
    (``toy_scale``: the bound of the toy generator's output)."""
    check_choice("architecture", arch, ARCHS)
    check_choice("discriminator norm", d_norm, NORMS)
    if arch == "dcgan":
        pair = DCGANGenerator(z_dim), DCGANDiscriminator(norm=d_norm)
    else:
        pair = ToyGenerator(z_dim, scale=toy_scale), ToyDiscriminator(norm=d_norm)
    if arch == "dcgan":  # the DCGAN paper's init; the toy MLPs keep PyTorch's default (fan-in scaled)
        for net in pair:
            init_weights(net)
    if d_norm == "spectral":  # after the init: the parametrization divides the initialised weights
        spectral_normalise(pair[1])
    return pair
