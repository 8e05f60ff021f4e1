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
