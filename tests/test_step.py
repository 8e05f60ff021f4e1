"""The training step on the CPU: it equals a plain reference computation, and the generator update
freezes D (no weight gradients for it) without changing G's gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from ganlib import GanlibError, get_loss
from ganlib.config import TrainConfig
from ganlib.data import make_sampler
from ganlib.losses import gradient_penalty
from ganlib.step import TrainStep, make_capturable, new_run

CPU = torch.device("cpu")


def ring_step(loss: str, batch_size: int = 16) -> tuple[TrainStep, object]:
    cfg = TrainConfig(loss=loss, dataset="ring", batch_size=batch_size, device="cpu", seed=3)
    result, opt, gen = new_run(cfg, CPU)
    return TrainStep(result, opt, make_sampler("ring", CPU), gen), result


def reference_steps(loss: str, k: int, batch_size: int = 16) -> tuple[list[list[float]], torch.nn.Module,
                                                                        torch.nn.Module]:
    """k steps written out plainly: the recipe's optimisers, the same draws from a generator seeded
    alike (real batch, critic noise, penalty ε; then generator noise), D's gradients not frozen."""
    cfg = TrainConfig(loss=loss, dataset="ring", batch_size=batch_size, device="cpu", seed=3)
    result, _, _ = new_run(cfg, CPU)  # the same initial weights
    G, D, recipe, fn = result.generator, result.discriminator, cfg.recipe(), get_loss(loss)
    make = (lambda p: torch.optim.RMSprop(p, lr=recipe.lr)) if recipe.optimizer == "rmsprop" else \
        (lambda p: torch.optim.Adam(p, lr=recipe.lr, betas=recipe.betas))
    opt_g, opt_d = make(G.parameters()), make(D.parameters())
    gen = torch.Generator().manual_seed(cfg.seed)
    sampler = make_sampler("ring", CPU)
    losses = []
    for _ in range(k):
        for _ in range(recipe.n_critic):
            real = sampler.sample(batch_size, gen)
            with torch.no_grad():
                fake = G(torch.randn(batch_size, 16, generator=gen))
            d_loss = fn.d_loss(D(real), D(fake))
            gp = torch.zeros(())
            if recipe.gp_lambda:
                gp = gradient_penalty(D, real, fake, generator=gen)
                d_loss = d_loss + recipe.gp_lambda * gp
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            if recipe.clip:
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-recipe.clip, recipe.clip)
        g_loss = fn.g_loss(D(G(torch.randn(batch_size, 16, generator=gen))))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        losses.append([d_loss.item(), g_loss.item(), gp.item()])
    return losses, G, D


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan", "wgan-gp"])
def test_eager_step_equals_the_reference_computation(loss):
    step, result = ring_step(loss)
    losses = [step().tolist() for _ in range(4)]
    ref_losses, G, D = reference_steps(loss, 4)
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(ref_losses), rtol=1e-5, atol=1e-6)
    for ours, ref in ((result.generator, G), (result.discriminator, D)):
        for p, q in zip(ours.parameters(), ref.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert losses[0] != losses[1]  # fresh draws every step


def test_generator_update_leaves_d_untouched_and_g_gradients_unchanged():
    step, result = ring_step("nonsaturating")
    step()  # D and G now have gradients and optimiser state
    G, D = result.generator, result.discriminator
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)  # the unfrozen reference, before the update
    for p in D.parameters():
        p.grad.fill_(0.5)  # a marker the generator update must not touch
    d_weights = [p.detach().clone() for p in D.parameters()]
    state = step.gen.get_state()
    step.generator_step()
    assert all(torch.equal(p, w) for p, w in zip(D.parameters(), d_weights))
    assert all(torch.equal(p.grad, torch.full_like(p, 0.5)) for p in D.parameters())
    assert all(p.requires_grad for p in D.parameters())  # unfrozen again afterwards

    z = torch.randn((16, 16), generator=torch.Generator().set_state(state))
    get_loss("nonsaturating").g_loss(D0(G0(z))).backward()
    assert all(p.grad.abs().sum() > 0 for p in D0.parameters())  # unfrozen, D's gradients are computed
    for p, q in zip(G.parameters(), G0.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=0.0)


def test_gradients_are_zeroed_in_place():
    step, result = ring_step("hinge")
    step()
    grads = [p.grad for net in (result.generator, result.discriminator) for p in net.parameters()]
    step()
    after = [p.grad for net in (result.generator, result.discriminator) for p in net.parameters()]
    assert all(a is b for a, b in zip(grads, after))  # the same tensors: what a CUDA graph needs


def test_cuda_graph_off_cuda_is_a_clear_error():
    with pytest.raises(GanlibError, match="cuda_graph needs a CUDA device, but the device is 'cpu'"):
        TrainConfig(loss="hinge", dataset="ring", device="cpu", cuda_graph=True)
    cfg = TrainConfig(loss="hinge", dataset="ring", device="auto", cuda_graph=True)  # auto may be cpu
    result, opt, gen = new_run(cfg, CPU)  # loading a graph-trained run on the CPU is fine ...
    with pytest.raises(GanlibError, match="cuda_graph needs a CUDA device"):
        TrainStep(result, opt, make_sampler("ring", CPU), gen)  # ... training it there is not


def test_make_capturable_moves_step_counts_to_the_parameters_device():
    net = torch.nn.Linear(2, 1)
    opt = torch.optim.RMSprop(net.parameters(), lr=0.1)
    net(torch.ones(1, 2)).sum().backward()
    opt.step()
    make_capturable(opt)
    assert opt.param_groups[0]["capturable"] is True
    steps = [opt.state[p]["step"] for p in net.parameters()]
    assert all(s.dtype == torch.float32 and s.device == net.weight.device and s.item() == 1.0 for s in steps)
