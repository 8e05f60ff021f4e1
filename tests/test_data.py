"""Data loading (offline IDX root, clear errors), scaling, the device sampler and the toy mixtures."""

from __future__ import annotations

import gzip
import math

import pytest
import torch

from ganlib import GanlibError
from ganlib.data import ImageSampler, ToySampler, load_images, make_sampler, split_name, to_float, to_uint8, toy_mixture


def _idx_bytes(arr: torch.Tensor) -> bytes:
    magic = 2048 + arr.dim()
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return head + arr.to(torch.uint8).numpy().tobytes()


def _write_fake_root(root, split="t10k", n=5, gz=True):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    imgs = torch.arange(n * 28 * 28).reshape(n, 28, 28) % 256
    labs = torch.arange(n) % 10
    for stem, arr in ((f"{split}-images-idx3-ubyte", imgs), (f"{split}-labels-idx1-ubyte", labs)):
        data = _idx_bytes(arr)
        if gz:
            (raw / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (raw / stem).write_bytes(data)
    return imgs, labs


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_round_trip(tmp_path, gz):
    imgs, labs = _write_fake_root(tmp_path, gz=gz)
    data = load_images("mnist", root=tmp_path, verbose=False)
    assert torch.equal(data.images, imgs.to(torch.uint8)) and torch.equal(data.labels, labs)
    assert data.splits == ("test",) and data.missing == ("train",)
    assert data.describe() == "MNIST: 5 images, test split (offline data; the 60,000-image train split is not there)"


def test_the_description_names_the_splits_in_chinese_too(tmp_path, monkeypatch):
    _write_fake_root(tmp_path, gz=True)
    data = load_images("mnist", root=tmp_path, verbose=False)
    monkeypatch.setenv("GANLIB_LANG", "zh_CN")
    assert data.describe() == "MNIST：测试集 5 张图像（离线数据；缺少训练集的 60000 张图像）"
    assert split_name("train") == "训练集"
    with pytest.raises(GanlibError, match="unknown split 'val'; choose one of: train, test"):
        split_name("val")


def test_missing_offline_data_names_path_and_files(tmp_path):
    with pytest.raises(GanlibError) as info:
        load_images("fashion-mnist", root=tmp_path, verbose=False)
    msg = str(info.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in msg and "train-images-idx3-ubyte" in msg
    assert "\n" not in msg


def test_offline_mnist_says_what_it_loaded_once_without_a_machine_path(data_root, capsys, monkeypatch):
    import ganlib.data

    monkeypatch.setattr(ganlib.data, "ANNOUNCED", set())
    data = load_images("mnist", root=data_root)
    assert data.images.shape == (70_000, 28, 28) and data.images.dtype == torch.uint8
    # the class counts of the original train split (60,000) and test split (10,000)
    assert torch.bincount(data.labels[:60_000]).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(data.labels[60_000:]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    load_images("mnist", root=data_root)  # the same data again: not repeated
    out, err = capsys.readouterr()
    assert out == "MNIST: 70,000 images, train+test splits (offline data)\n"
    assert err == "" and data_root not in out
    load_images("mnist", "test", root=data_root)  # other splits asked for: said again
    assert capsys.readouterr().out == "MNIST: 10,000 images, test split (offline data)\n"


def test_unknown_dataset_names_choices():
    with pytest.raises(GanlibError, match="mnist, fashion-mnist, ring, grid"):
        make_sampler("cifar", torch.device("cpu"))


def test_scaling_to_minus_one_one_and_back():
    u = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    x = to_float(u)
    assert x.shape == (3, 1, 28, 28)
    assert to_float(torch.full((1, 28, 28), 255, dtype=torch.uint8)).max().item() == 1.0
    assert to_float(torch.zeros(1, 28, 28, dtype=torch.uint8)).min().item() == -1.0
    assert torch.equal(to_uint8(x).squeeze(1), u)


def test_image_sampler_is_seeded_and_scaled():
    imgs = torch.randint(0, 256, (100, 28, 28), dtype=torch.uint8)
    s = ImageSampler(imgs, torch.device("cpu"))
    a = s.sample(16, torch.Generator().manual_seed(3))
    b = s.sample(16, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (16, 1, 28, 28)
    assert a.min() >= -1 and a.max() <= 1


def test_toy_mixtures():
    ring = toy_mixture("ring")
    assert ring.centres.shape == (8, 2)
    assert torch.allclose(ring.centres.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(ring.centres[:, 1], ring.centres[:, 0])
    gaps = (angles.diff() % (2 * math.pi))
    assert torch.allclose(gaps, torch.full((7,), math.pi / 4), atol=1e-5)
    grid = toy_mixture("grid")
    assert grid.centres.shape == (25, 2) and set(grid.centres[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_toy_sampler_draws_near_the_modes():
    s = ToySampler(toy_mixture("ring"), torch.device("cpu"))
    pts = s.sample(4000, torch.Generator().manual_seed(0))
    d = torch.cdist(pts, s.centres).min(1).values
    assert (d < 3 * 0.05).float().mean() > 0.98  # 3-std radius in 2-D holds ~98.9% of the mass
    counts = torch.bincount(torch.cdist(pts, s.centres).argmin(1), minlength=8)
    assert counts.min() > 400  # every mode drawn about equally (500 expected)


def test_failed_download_is_one_line_naming_the_offline_variable(tmp_path, monkeypatch):
    import ganlib.data as data

    class Offline:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried somewhere")

    monkeypatch.delenv("GANLIB_DATA", raising=False)
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(GanlibError) as info:
        data.load_images("mnist", verbose=False)
    msg = str(info.value)
    assert "could not download mnist" in msg and "GANLIB_DATA" in msg and "\n" not in msg


def _write_split(raw, split: str, values: range) -> None:
    """An offline split whose image i is filled with the value values[i] (so an image names itself)."""
    raw.mkdir(parents=True, exist_ok=True)
    imgs = torch.tensor(list(values)).reshape(-1, 1, 1).expand(-1, 28, 28).contiguous()
    for stem, arr in ((f"{split}-images-idx3-ubyte", imgs), (f"{split}-labels-idx1-ubyte", imgs[:, 0, 0] % 10)):
        (raw / stem).write_bytes(_idx_bytes(arr))


def test_gans_train_on_the_train_split_only(tmp_path, capsys, monkeypatch):
    """MNIST and Fashion-MNIST alike: the train split, never a test image (the test split is the FCD
    reference); said on stdout, once. Without a train split: an error naming the files, no fallback."""
    import ganlib.data
    from ganlib.data import gan_training_images

    monkeypatch.setattr(ganlib.data, "ANNOUNCED", set())
    _write_split(tmp_path / "MNIST" / "raw", "train", range(100, 106))
    _write_split(tmp_path / "MNIST" / "raw", "t10k", range(200, 208))
    data = gan_training_images("mnist", tmp_path)
    assert data.images[:, 0, 0].tolist() == list(range(100, 106)) and data.splits == ("train",)
    assert capsys.readouterr().out == "MNIST: 6 images, train split (offline data)\n"
    _write_split(tmp_path / "FashionMNIST" / "raw", "t10k", range(8))
    with pytest.raises(GanlibError, match=r"^no fashion-mnist data in .*expected train-images-idx3-ubyte\[\.gz\], "
                                          r"train-labels-idx1-ubyte\[\.gz\]$"):
        gan_training_images("fashion-mnist", tmp_path)
    _write_split(tmp_path / "FashionMNIST" / "raw", "train", range(50, 56))
    assert gan_training_images("fashion-mnist", tmp_path, verbose=False).images[:, 0, 0].tolist() == list(range(50, 56))


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_offline_gans_never_see_the_reference(data_root, dataset):
    """The whole train split trains the GAN, the whole test split is the reference, and no reference image
    is byte for byte in the training images."""
    from ganlib.classifier import reference_set
    from ganlib.data import gan_training_images

    gan = gan_training_images(dataset, data_root, verbose=False)
    ref = reference_set(dataset, data_root, verbose=False)
    assert len(gan.images) == 60_000 and gan.splits == ("train",) and len(ref.images) == 10_000
    seen = {bytes(x.numpy().tobytes()) for x in gan.images}
    assert not any(bytes(x.numpy().tobytes()) in seen for x in ref.images)
