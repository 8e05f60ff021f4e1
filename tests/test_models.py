"""The networks' own layer: ``AtenConvTranspose2d`` computes what torch's ``nn.ConvTranspose2d`` computes,
with another CPU kernel."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.profiler import profile

from ganlib.models import STOCK_LAYERS, AtenConvTranspose2d


def _pair(layer: type, *args) -> tuple[nn.Module, nn.Module]:
    """(torch's layer, ganlib's) with the same weights."""
    ours = layer(*args)
    stock = STOCK_LAYERS[layer](*args)
    stock.load_state_dict(ours.state_dict())
    return stock, ours


def _outputs_and_gradients(layer: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    xi = x.clone().requires_grad_()
    layer.zero_grad()
    y = layer(xi)
    (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
    return [y.detach(), xi.grad, layer.weight.grad, layer.bias.grad]


@pytest.mark.parametrize("args, shape", [
    ((8, 1, 4, 2, 1), (5, 8, 14, 14)),  # the generator's last layer
    ((3, 2, 3, 2, 1), (2, 3, 9, 8)),  # two output channels, odd sizes
])
def test_same_output_and_gradients_as_torchs_layer(args, shape):
    stock, ours = _pair(AtenConvTranspose2d, *args)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    for a, b in zip(_outputs_and_gradients(ours, x), _outputs_and_gradients(stock, x)):
        torch.testing.assert_close(a, b)


def test_the_cpu_forward_runs_atens_kernel_and_the_flag_comes_back():
    stock, up = _pair(AtenConvTranspose2d, 8, 1, 4, 2, 1)
    x = torch.randn(2, 8, 14, 14)
    kernels = []
    for layer in (stock, up):
        with profile() as p:
            layer(x)
        kernels.append("aten::slow_conv_transpose2d" in {e.key for e in p.key_averages()})
    assert kernels == [False, True]  # torch's layer takes oneDNN, ganlib's ATen's kernel
    assert torch.backends.mkldnn.enabled
    with pytest.raises(RuntimeError):
        up(torch.randn(2, 3, 14, 14))  # wrong channel count: the flag must come back on anyway
    assert torch.backends.mkldnn.enabled


def test_a_caller_that_switched_onednn_off_keeps_it_off():
    _, up = _pair(AtenConvTranspose2d, 8, 1, 4, 2, 1)
    torch.backends.mkldnn.enabled = False
    try:
        up(torch.randn(2, 8, 14, 14))
        assert not torch.backends.mkldnn.enabled
    finally:
        torch.backends.mkldnn.enabled = True


def test_spectral_normalisation_divides_every_critic_weight_by_its_largest_singular_value():
    """d_norm="spectral": no normalisation layer; after enough power-iteration steps (training-mode forward
    passes) each conv and linear weight, reshaped to (out, in·k·k), has largest singular value 1."""
    from ganlib.models import build_models

    _, D = build_models("dcgan", 64, "spectral", 3.0)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in D.modules())
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 3 and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for _ in range(200):  # each training forward refines u and v by one step
        D(x)
    D.eval()
    for m in layers:
        original = m.parametrizations.weight.original.detach()
        sigma = torch.linalg.svdvals(original.flatten(1))[0]  # the raw weight's own σ (0.2 to 1.6 here)
        scale = (m.weight / original).detach()  # W / σ̂(W): one scalar for every entry, nothing else changed
        assert torch.allclose(scale, scale.flatten()[0].expand_as(scale), rtol=1e-5)
        # σ̂ = uᵀ W v from the parametrization's own estimates of the top singular vectors
        u, v = m.parametrizations.weight[0]._u, m.parametrizations.weight[0]._v
        assert scale.flatten()[0].item() == pytest.approx(1 / torch.dot(u, original.flatten(1) @ v).item(), rel=1e-5)
        # power iteration converges like (σ₂/σ₁)^k, slowly for a random matrix: σ̂ is within 1 % of σ here
        assert (scale.flatten()[0] * sigma).item() == pytest.approx(1.0, abs=1e-2)
        assert torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() == pytest.approx(1.0, abs=1e-2)


def test_a_spectrally_normalised_linear_map_is_one_lipschitz():
    """‖W x − W y‖ ≤ ‖x − y‖ for the normalised weight of a linear layer, on random pairs (a check of the
    bound the chapter states), and the bound is reached along the top singular vector."""
    from ganlib.models import spectral_normalise

    layer = spectral_normalise(nn.Sequential(nn.Linear(20, 10)))[0]
    for _ in range(50):
        layer(torch.randn(4, 20))
    layer.eval()
    W = layer.weight.detach()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(1000, 20, generator=g), torch.randn(1000, 20, generator=g)
    assert ((x - y) @ W.T).norm(dim=1).max() <= (x - y).norm(dim=1).max()
    assert (((x - y) @ W.T).norm(dim=1) / (x - y).norm(dim=1)).max() <= 1 + 1e-4
    v = torch.linalg.svd(W).Vh[0]
    assert (W @ v).norm().item() == pytest.approx(1.0, abs=1e-3)
