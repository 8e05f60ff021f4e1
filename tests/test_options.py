"""The aids besides the loss (TrainConfig's r1_gamma, instance_noise, d_lr, ema), checked on hand-computed
values: R1 on a linear critic, the noise schedule and the noise D sees, the weight average after two updates,
the discriminator's learning rate; off, each leaves a run bit for bit as it was; on, each resumes bit for bit;
bad values are one-line errors."""

from __future__ import annotations

import copy
import math
import os
import signal

import pytest
import torch

from ganlib import GanlibError, TrainConfig, TrainingInterrupted, load_run, train
from ganlib.checkpoint import CHECKPOINT, load_checkpoint
from ganlib.data import make_sampler
from ganlib.dirac import dirac_gradients
from ganlib.losses import r1_penalty
from ganlib.models import build_models
from ganlib.step import (
    REFRESH_BATCH,
    REFRESH_BATCHES,
    REFRESH_SEED,
    TrainResult,
    TrainStep,
    instance_noise_std,
    new_run,
    refresh_batch_norm,
)

CPU = torch.device("cpu")


def toy(**kw) -> TrainConfig:
    return TrainConfig(**{**dict(loss="nonsaturating", dataset="ring", steps=8, batch_size=16, device="cpu",
                                 check_every=4), **kw})


def step_of(cfg: TrainConfig) -> TrainStep:
    result, opt, gen = new_run(cfg, CPU)
    return TrainStep(result, opt, make_sampler(cfg.dataset, CPU, verbose=False), gen)


def same_run(a, b) -> bool:
    """Equal losses, weights (the average's too) and snapshots, bit for bit."""
    nets = [(a.generator, b.generator), (a.discriminator, b.discriminator)]
    if a.generator_ema is not None or b.generator_ema is not None:
        nets.append((a.generator_ema, b.generator_ema))
    weights = all(torch.equal(x, y) for m, n in nets for x, y in zip(m.state_dict().values(), n.state_dict().values()))
    losses = all(a.history[k] == b.history[k] for k in ("step", "d_loss", "g_loss", "gp"))
    snaps = a.snapshots.keys() == b.snapshots.keys() and all(torch.equal(a.snapshots[k], b.snapshots[k])
                                                             for k in a.snapshots)
    return weights and losses and snaps


# --- R1 --------------------------------------------------------------------------------------------

def test_r1_of_a_linear_critic_is_the_squared_norm_of_its_weights():
    # D(x) = w·x + b has ∇_x D = w at every x, so R1 = E_x ‖w‖² = ‖w‖² = 1 + 4 + 9 + 0.25 = 14.25
    critic = torch.nn.Linear(4, 1).double()
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[1.0, -2.0, 3.0, 0.5]]))
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert r1_penalty(x, critic(x)).item() == pytest.approx(14.25, rel=1e-12)
    # images: the norm is over all pixels of a sample, D(x) = Σ w⊙x on 1×2×2 images
    w = torch.tensor([[[[1.0, 2.0], [2.0, 4.0]]]], dtype=torch.float64)
    imgs = torch.randn(3, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    assert r1_penalty(imgs, (imgs * w).flatten(1).sum(1, keepdim=True)).item() == pytest.approx(25.0, rel=1e-12)


def test_r1_is_the_dirac_gans_penalty():
    # the Dirac-GAN's D(x) = ψx: (γ/2)·R1 = (γ/2)ψ², whose ψ-derivative γψ adds to the WGAN critic's θ
    theta, psi, gamma = 0.7, -1.3, 0.4
    assert dirac_gradients("wgan", theta, psi, r1_gamma=gamma)[0] == pytest.approx(theta + gamma * psi, abs=1e-12)


def test_the_training_step_adds_half_gamma_r1_on_the_real_batch():
    gamma = 3.0
    plain, with_r1 = step_of(toy()), step_of(toy(r1_gamma=gamma))
    # the first critic loss, before any update: the same batch and the same D, plus (γ/2)·R1 of that D and batch
    sampler = make_sampler("ring", CPU, verbose=False)
    gen = torch.Generator().manual_seed(0)
    real = sampler.sample(16, gen).requires_grad_(True)
    r1 = r1_penalty(real, with_r1.D(real)).item()
    d_plain, d_r1 = plain.critic_step()[0].item(), with_r1.critic_step()[0].item()
    assert r1 > 0 and d_r1 - d_plain == pytest.approx(gamma / 2 * r1, rel=1e-5)


# --- instance noise ------------------------------------------------------------------------------

def test_the_noise_schedule_falls_linearly_to_zero_over_the_run():
    assert [instance_noise_std(0.2, t, 100) for t in (0, 25, 50, 99, 100, 150)] == pytest.approx(
        [0.2, 0.15, 0.1, 0.002, 0.0, 0.0], abs=1e-15)


def test_d_sees_real_and_fake_plus_the_scheduled_noise():
    cfg = toy(instance_noise=0.5, steps=4)
    step = step_of(cfg)
    step.result.step = 1  # the second generator step of four: σ = 0.5 · (1 − 1/4) = 0.375
    seen = []
    hook = step.D.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().clone()))
    gen = torch.Generator().set_state(step.gen.get_state())
    G0 = {k: v.clone() for k, v in step.G.state_dict().items()}
    step.critic_step()
    hook.remove()
    # the same draws by hand: batch indices, z, then ε for real and ε for fake
    real = make_sampler("ring", CPU, verbose=False).sample(16, gen)
    z = torch.randn((16, 16), generator=gen)
    step.G.load_state_dict(G0)
    with torch.no_grad():
        fake = step.G(z)
    eps_real, eps_fake = torch.randn(real.shape, generator=gen), torch.randn(fake.shape, generator=gen)
    assert torch.equal(seen[0], real + 0.375 * eps_real) and torch.equal(seen[1], fake + 0.375 * eps_fake)


# --- TTUR ------------------------------------------------------------------------------------------

def test_d_lr_reaches_the_discriminators_optimiser_only():
    _, opt, _ = new_run(toy(d_lr=4e-4, lr=1e-4), CPU)
    assert [g["lr"] for g in opt.d.param_groups] == [4e-4] and [g["lr"] for g in opt.g.param_groups] == [1e-4]
    _, opt, _ = new_run(toy(), CPU)  # default: both at the recipe's rate, ×5 on the toys
    assert opt.d.param_groups[0]["lr"] == opt.g.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert toy(d_lr=None).resolved_d_lr() == toy().recipe().lr == pytest.approx(1e-3)


# --- EMA -------------------------------------------------------------------------------------------

def test_the_average_after_two_updates_is_the_hand_computed_one():
    beta = 0.9
    step = step_of(toy(ema=beta))
    thetas = [[p.detach().clone().double() for p in step.G.parameters()]]
    for _ in range(2):
        step()
        thetas.append([p.detach().clone().double() for p in step.G.parameters()])
    for i, p_avg in enumerate(step.result.generator_ema.parameters()):
        t0, t1, t2 = (t[i] for t in thetas)
        by_hand = beta * (beta * t0 + (1 - beta) * t1) + (1 - beta) * t2  # = β²θ0 + β(1−β)θ1 + (1−β)θ2
        assert torch.allclose(p_avg.double(), by_hand, rtol=0, atol=1e-6)
        assert not torch.equal(t2, t1)  # the generator moved: the average is not a copy of it


def test_the_average_samples_with_batch_norm_statistics_of_its_own():
    # G(z) = BN(Wz) with W = diag(1, 2): the layer sees Wz, so its running mean is the mean of W z over the
    # refresh noise and its running variance the mean of the per-batch unbiased variances, computed here by hand
    net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False), torch.nn.BatchNorm1d(2)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.diag(torch.tensor([1.0, 2.0])))
    net[1].running_mean.fill_(7.0)  # statistics of another network, as a copied trained G's would be
    refresh_batch_norm(net, 2, CPU)
    gen = torch.Generator().manual_seed(REFRESH_SEED)
    batches = [torch.randn(REFRESH_BATCH, 2, generator=gen).double() * torch.tensor([1.0, 2.0])
               for _ in range(REFRESH_BATCHES)]
    mean = torch.stack([b.mean(0) for b in batches]).mean(0)
    var = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    assert torch.allclose(net[1].running_mean, mean, rtol=0, atol=1e-12)
    assert torch.allclose(net[1].running_var, var, rtol=0, atol=1e-12)
    assert net[1].momentum == 0.1 and net.training  # the layer's settings and the mode are restored


def test_the_average_is_what_samples_and_evaluations_see():
    result = train(toy(ema=0.5, snapshot_steps=(8,)), verbose=False, progress=False,
                   evaluate=lambda r: {"mean": float(r.sample(64, seed=1).mean())})
    averaged, trained = result.sample(64, seed=1), result.sample(64, seed=1, average=False)
    assert not torch.equal(averaged, trained)
    assert result.evals[-1]["mean"] == float(averaged.mean())
    assert torch.equal(result.snapshots[8], result.generate(result.fixed_noise))


def test_an_image_generators_average_samples_with_its_own_statistics():
    # the DCGAN generator has batch norm: the average's samples are those of its weights under statistics
    # measured on its own activations, whatever statistics it held before, and not the trained G's samples
    torch.manual_seed(0)
    G, D = build_models("dcgan", z_dim=64, d_norm="batch")
    average = copy.deepcopy(G)
    with torch.no_grad():
        for p in average.parameters():
            p.mul_(0.5)
    result = TrainResult(TrainConfig(dataset="mnist", ema=0.5), G, D, CPU, generator_ema=average)
    z = torch.randn(16, 64, generator=torch.Generator().manual_seed(3))
    by_hand = copy.deepcopy(average)
    refresh_batch_norm(by_hand, 64, CPU)
    stale = copy.deepcopy(average).eval()
    with torch.no_grad():
        expected, from_stale = by_hand.eval()(z), stale(z)
    sampled = result.generate(z)
    assert torch.equal(sampled, expected) and not torch.allclose(sampled, from_stale, atol=1e-3)
    assert not torch.allclose(sampled, result.generate(z, average=False), atol=1e-3)


# --- off: as before; on: resumes exactly ---------------------------------------------------------

def test_each_aid_at_its_off_value_trains_exactly_as_the_default(tmp_path):
    base = train(toy(loss="hinge"), verbose=False, progress=False)
    lr = toy(loss="hinge").recipe().lr
    for off in (dict(r1_gamma=0.0), dict(instance_noise=0), dict(ema=0.0), dict(d_lr=lr)):
        run = train(toy(loss="hinge", **off), verbose=False, progress=False)
        assert same_run(base, run) and run.generator_ema is None, off
    train(toy(), tmp_path, verbose=False, progress=False)  # the checkpoint keeps its keys of before
    assert "generator_ema" not in load_checkpoint(tmp_path / CHECKPOINT)


@pytest.mark.parametrize("aid", [dict(r1_gamma=1.0), dict(instance_noise=0.3), dict(d_lr=3e-3), dict(ema=0.8)])
def test_a_run_with_each_aid_resumes_bit_for_bit(tmp_path, aid):
    cfg = toy(loss="hinge", steps=12, snapshot_steps=(5, 12), **aid)
    whole = train(cfg, verbose=False, progress=False)

    def stop_at_5(result):
        os.kill(os.getpid(), signal.SIGINT)  # the loop stops at the next step boundary, with a checkpoint
        return {}

    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path, evaluate=lambda r: stop_at_5(r) if r.step == 5 else {}, verbose=False, progress=False)
    assert load_checkpoint(tmp_path / CHECKPOINT)["step"] == 5
    resumed = train(cfg, tmp_path, resume=True, verbose=False, progress=False)
    assert same_run(whole, resumed)
    assert same_run(whole, load_run(tmp_path))  # the finished checkpoint rebuilds the run, its average too


def test_old_checkpoints_without_the_new_fields_still_resume(tmp_path):
    cfg = toy(steps=6)
    train(cfg, tmp_path, verbose=False, progress=False)
    state = load_checkpoint(tmp_path / CHECKPOINT)
    for key in ("r1_gamma", "instance_noise", "d_lr", "ema"):
        del state["config"][key]  # as a checkpoint written before these fields existed
    torch.save(state, tmp_path / CHECKPOINT)
    assert load_run(tmp_path).step == 6
    assert train(toy(steps=8), tmp_path, resume=True, verbose=False, progress=False).step == 8


def test_instance_noise_refuses_a_resume_that_would_change_its_schedule(tmp_path):
    train(toy(instance_noise=0.1, steps=4), tmp_path, verbose=False, progress=False)
    with pytest.raises(GanlibError, match="anneals to 0 over its 4 steps; resume it with --steps 4"):
        train(toy(instance_noise=0.1, steps=8), tmp_path, resume=True, verbose=False, progress=False)


def test_an_average_missing_from_the_checkpoint_is_a_one_line_error(tmp_path):
    train(toy(ema=0.5, steps=4), tmp_path, verbose=False, progress=False)
    state = load_checkpoint(tmp_path / CHECKPOINT)
    del state["generator_ema"]
    torch.save(state, tmp_path / CHECKPOINT)
    with pytest.raises(GanlibError, match="holds no generator weight average, which this config"):
        load_run(tmp_path)


# --- bad values ------------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, words", [
    ("r1_gamma", -1.0, "r1_gamma must be a non-negative number (R1's γ; 0 switches R1 off), got -1.0"),
    ("r1_gamma", float("nan"), "r1_gamma must be a non-negative number"),
    ("r1_gamma", "1", "r1_gamma must be a non-negative number"),
    ("instance_noise", -0.1, "instance_noise must be a non-negative number (the noise's σ at step 0; 0 switches"),
    ("instance_noise", float("inf"), "instance_noise must be a non-negative number"),
    ("d_lr", 0, "d_lr must be a positive number (None: the generator's learning rate), got 0"),
    ("d_lr", -1e-4, "d_lr must be a positive number"),
    ("ema", 1.0, "ema must be a number in [0, 1) (the average's β; 0 switches it off), got 1.0"),
    ("ema", -0.5, "ema must be a number in [0, 1)"),
    ("ema", True, "ema must be a number in [0, 1)"),
])
def test_bad_values_are_one_line_errors(field, value, words):
    with pytest.raises(GanlibError) as info:
        toy(**{field: value})
    assert words in str(info.value) and "\n" not in str(info.value)


def test_instance_noise_inside_a_cuda_graph_is_refused_at_construction():
    with pytest.raises(GanlibError) as info:
        TrainConfig(device="cuda", cuda_graph=True, instance_noise=0.1)
    assert "instance_noise cannot run inside a CUDA graph" in str(info.value) and "\n" not in str(info.value)
    TrainConfig(device="cuda", cuda_graph=True, r1_gamma=1.0, ema=0.9, d_lr=1e-4)  # these run in the graph


# --- the classifier's cosine schedule (torch's LambdaLR) ---------------------------------------------

def test_the_classifiers_lambdalr_gives_the_hand_written_cosine_rates_exactly():
    from ganlib.classifier import cosine_schedule

    lr, epochs, per_epoch = 2e-3, 3, 7
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    schedule, seen = cosine_schedule(opt, per_epoch, epochs), []
    for _ in range(epochs * per_epoch):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        schedule.step()
    # the rate the loop set by hand before each step: ½·lr·(1 + cos(π·(epoch + i/steps per epoch)/epochs))
    by_hand = [0.5 * lr * (1 + math.cos(math.pi * (e + i / per_epoch) / epochs))
               for e in range(epochs) for i in range(per_epoch)]
    assert seen == by_hand and seen[0] == lr and seen[-1] < lr * 0.01
