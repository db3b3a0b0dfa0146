"""U-Net GAN specifics: DeepComposer's widths, padding to the encoder's stride, noise at the bottleneck."""

from __future__ import annotations

import torch

from museforge.models import UNetConfig, UNetCritic, UNetGenerator, build_gan, count_parameters

from .conftest import random_melody, tiny


def test_default_model_matches_deepcomposer_shape() -> None:
    generator, critic, cfg = build_gan("unet", {})
    assert isinstance(generator, UNetGenerator) and isinstance(critic, UNetCritic)
    assert cfg == UNetConfig()
    assert (cfg.n_tracks, cfg.n_steps, cfg.n_pitches) == (3, 32, 84)
    widths = [layer[0].out_channels for layer in generator.encoder]
    assert widths == [64, 128, 256, 512]
    assert all(layer[0].kernel_size == (4, 4) and layer[0].stride == (2, 2) for layer in generator.encoder)
    # 84 pitches are padded to 96 so four stride-2 levels halve them exactly; T = 32 needs no padding
    assert generator.padded == (32, 96) and generator.bottleneck == (2, 6)
    assert count_parameters(generator) > count_parameters(critic) > 100_000


def test_padding_does_not_leak_into_the_output() -> None:
    """Logits cover exactly (T, P); the padded rows and columns are cropped, whatever T and P are."""
    generator, _, cfg = tiny("unet", n_bars=3, steps_per_bar=12, n_pitches=50, lowest_pitch=40, depth=3)
    assert generator.padded == (40, 56)
    generator.eval()
    noise = generator.sample_noise(2, generator=torch.Generator().manual_seed(0))
    melody = random_melody(2, 36, 50)
    out = generator(melody, noise)
    assert out.shape == (2, cfg.n_tracks, 36, 50) and torch.isfinite(out).all()
    # the kept cells are the top-left (T, P) of the padded grid: a note in the melody's last step and pitch
    # changes the output there, and the output's last step and pitch are the network's own values, not padding
    moved = melody.clone()
    moved[:, -1, -1] = 1 - moved[:, -1, -1]
    changed = (generator(moved, noise) - out).abs()
    assert changed[:, :, -1, -1].max() > 0
    assert out[:, :, -1, :].std() > 0 and out[:, :, :, -1].std() > 0
    # the same input gives the same output (no state leaks from one call to the next)
    assert torch.equal(generator(melody, noise), out)


def test_noise_enters_only_at_the_bottleneck() -> None:
    generator, _, cfg = tiny("unet")
    generator.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    seen: list[torch.Tensor] = []
    handle = generator.decoder[0].register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    generator(melody, generator.sample_noise(2, generator=torch.Generator().manual_seed(0)))
    generator(melody, generator.sample_noise(2, generator=torch.Generator().manual_seed(1)))
    handle.remove()
    bottleneck_channels = generator.encoder[-1][0].out_channels
    first, second = seen
    assert first.shape[1] == bottleneck_channels + cfg.noise_channels
    # the encoder's part of the bottleneck ignores the noise; the noise maps differ
    assert torch.equal(first[:, :bottleneck_channels], second[:, :bottleneck_channels])
    assert not torch.equal(first[:, bottleneck_channels:], second[:, bottleneck_channels:])
