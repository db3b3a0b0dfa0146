"""One adversarial training step (critic updates, then a generator update), free of host syncs.

The trainer and the benchmarks (``bench/``) run the same :class:`AdversarialStep`. A step is ``update_ratio``
critic updates, each on its own batch, then one generator update on the last batch's generated windows. What
makes it fast, and where each part applies:

- Real and fake windows go through the critic as ONE batch (the critics normalise per sample, so this
  equals two calls); the gradient penalty takes the gradient with respect to the mixed inputs only.
- The generator update reuses the last critic batch's generated windows (as the MuseGAN tutorial does): the
  generator runs once per critic batch, not once more for its own update.
- Losses are summed on the device; nothing in the step reads a value back to the host.
- ``autocast``: the forward passes run in bf16 on CUDA, and on a CPU with native bf16 instructions
  (AVX512-BF16 or AMX) for networks of at least :data:`CPU_BF16_MIN_PARAMETERS` parameters, where it was measured
  faster (docs/performance.md); smaller networks stay float32, where the casts cost more than they save. The
  penalty's norm stays fp32.
- ``compile``: the generator and the critic's plain forward go through ``torch.compile``; the gradient
  penalty's double backward stays eager (compiling it needs ``trace_autograd_ops`` and pays only on GPU).
- Fused Adam on CUDA, multi-tensor Adam on the CPU (instead of a loop over the parameters).

``plain=True`` gives the reference point the benchmarks compare against: the same networks and updates in
eager float32, with separate critic passes for real and fake windows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from museforge.training.losses import critic_loss, decoded_notes, generator_loss, gradient_penalty

#: Order of the per-step sums :meth:`AdversarialStep.__call__` returns.
SUM_KEYS: tuple[str, ...] = ("generator_loss", "discriminator_loss", "real_score", "fake_score", "gradient_penalty")

#: ``(melody (B, T, P), real accompaniment (B, K, T, P))`` of one critic batch.
Batch = tuple[Tensor, ...]

#: Parameters (generator and critic together) from which bf16 autocast pays on a CPU with native bf16: measured
#: 1.02-1.42x on the bench's cases from the shipped pop recipe (0.44M) up, 0.85x on the tests' tiny MuseGAN (23k).
CPU_BF16_MIN_PARAMETERS = 200_000


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16), per ``torch.cpu.get_capabilities``.

    (``torch.backends.cpu.get_cpu_capability()`` names the vector width PyTorch's kernels use, e.g. ``AVX512``,
    which does not tell whether bf16 instructions exist.)
    """
    get = getattr(torch.cpu, "get_capabilities", None)
    if get is None:
        return False
    try:
        capabilities = get()
    except RuntimeError:
        return False
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def bf16_pays(device: torch.device, parameters: int) -> bool:
    """Whether the fast step runs bf16 autocast on ``device`` for networks of ``parameters`` parameters."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and parameters >= CPU_BF16_MIN_PARAMETERS and cpu_has_native_bf16()


def shown_to_critic(probs: Tensor, notes: bool) -> Tensor:
    """What the critic is shown of generated probabilities ``(B, K, T, P)``: the probabilities themselves, or
    (``notes``) the notes they decode to at the 0.5 threshold, 0 or 1 like the real windows, with a
    straight-through gradient (the generator's update flows through as if the critic had seen the probabilities;
    Dong and Yang's deterministic binary neurons, BinaryMuseGAN, 2018)."""
    return decoded_notes(probs) if notes else probs


def make_optimizer(module: nn.Module, learning_rate: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam over ``module``'s parameters: the fused kernel on CUDA, the multi-tensor one elsewhere.

    (On the CPU PyTorch would loop over the parameters one by one; its fused CPU kernel measured slower here.)
    """
    device = next(module.parameters()).device
    if device.type == "cuda":
        return torch.optim.Adam(module.parameters(), lr=learning_rate, betas=betas, fused=True)
    return torch.optim.Adam(module.parameters(), lr=learning_rate, betas=betas, foreach=True)


class AdversarialStep:
    """Runs steps of a GAN with its two optimizers.

    Parameters
    ----------
    generator : nn.Module
        ``(melody (B, T, P), noise (B, noise_dim)) -> logits (B, K, T, P)`` with ``sample_noise``.
    critic : nn.Module
        ``(melody (B, T, P), accompaniment (B, K, T, P)) -> scores (B,)``.
    g_opt, d_opt : torch.optim.Optimizer
        Optimizers of the generator and the critic.
    loss : str
        One of :data:`museforge.training.config.LOSSES`.
    penalty_weight : float
        Weight of the gradient penalty (0 for none).
    autocast : bool
        bf16 autocast of the forward passes where it pays (:func:`bf16_pays`: CUDA, or a CPU with native
        bf16 and networks of at least :data:`CPU_BF16_MIN_PARAMETERS`); False keeps float32 everywhere.
    force_autocast : bool
        bf16 autocast on any device and at any size, whatever ``autocast`` says (tests and measurements).
    compile : bool
        ``torch.compile`` the forward passes.
    plain : bool
        Reference mode: eager, float32, real and fake in separate critic passes (``autocast`` and
        ``compile`` are ignored).
    generator_forward, critic_forward : callable, optional
        Replace the modules' own forward calls (e.g. their DDP wrappers); ``critic_forward`` is used for the
        critic's own update, the bare critic for the penalty and the generator update.
    generator_term : callable, optional
        ``(melody (B, T, P), probabilities (B, K, T, P), real (B, K, T, P)) -> scalar`` added to the generator's
        loss, ``real`` the accompaniment of the same windows (a voice-leading term,
        :func:`museforge.training.losses.parallel_motion`, a term against semitone clusters,
        :func:`museforge.training.losses.semitone_clusters`, and one matching the drums' map,
        :func:`museforge.training.losses.drum_profile_gap`, weighted).
    critic_sees_notes : bool
        Show the critic the generated notes instead of the probabilities (:func:`shown_to_critic`), in its own
        updates and the generator's; the gradient penalty mixes real windows with those notes.
    """

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        g_opt: torch.optim.Optimizer,
        d_opt: torch.optim.Optimizer,
        *,
        loss: str,
        penalty_weight: float,
        autocast: bool = True,
        force_autocast: bool = False,
        compile: bool = False,
        plain: bool = False,
        generator_forward: Callable[..., Tensor] | None = None,
        critic_forward: Callable[..., Tensor] | None = None,
        generator_term: Callable[[Tensor, Tensor, Tensor], Tensor] | None = None,
        critic_sees_notes: bool = False,
    ) -> None:
        self.generator, self.critic = generator, critic
        self.generator_term = generator_term
        self.critic_sees_notes = critic_sees_notes
        self.g_opt, self.d_opt = g_opt, d_opt
        self.loss, self.penalty_weight, self.plain = loss, float(penalty_weight), plain
        self.device = next(generator.parameters()).device
        parameters = sum(p.numel() for m in (generator, critic) for p in m.parameters())
        #: Whether the forward passes run under bf16 autocast (else float32).
        self.use_autocast = not plain and (force_autocast or (autocast and bf16_pays(self.device, parameters)))
        #: Whether the networks read the batches' metric grids.
        self.meter_aware = bool(getattr(generator, "meter_aware", False))
        self.g_forward: Callable[..., Tensor] = generator_forward or generator
        self.d_forward: Callable[..., Tensor] = critic_forward or critic
        if compile and not plain:
            self.g_forward = torch.compile(self.g_forward)  # type: ignore[assignment]
            self.d_forward = torch.compile(self.d_forward)  # type: ignore[assignment]
        self.d_bare: Callable[..., Tensor] = self.d_forward
        if critic_forward is not None:
            self.d_bare = torch.compile(critic) if compile and not plain else critic  # type: ignore[assignment]

    @property
    def precision(self) -> str:
        """``"bf16"`` (autocast forward passes) or ``"fp32"``."""
        return "bf16" if self.use_autocast else "fp32"

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.use_autocast:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _critic_scores(
        self, melody: Tensor, real: Tensor, fake: Tensor, extra: tuple[Tensor, ...]
    ) -> tuple[Tensor, Tensor]:
        """Scores ``(B,)`` of real and fake windows: one critic pass, or two in plain mode."""
        if self.plain:
            return self.d_forward(melody, real, *extra), self.d_forward(melody, fake, *extra)
        batch = melody.shape[0]
        doubled = tuple(torch.cat([x, x]) for x in extra)
        scores = self.d_forward(torch.cat([melody, melody]), torch.cat([real, fake]), *doubled).float()
        return scores[:batch], scores[batch:]

    def __call__(self, batches: Iterable[Batch], rng: torch.Generator | None = None) -> Tensor:
        """Run one step: a critic update per batch, then one generator update on the last batch's windows.

        Parameters
        ----------
        batches : iterable of tuples of Tensor
            ``update_ratio`` batches ``(melody (B, T, P), real (B, K, T, P)[, meter (B, T, 2)])`` on the device,
            float32; the metric grid is passed on to networks that read it (``meter_aware``).
        rng : torch.Generator, optional
            Draws the noise and the penalty's mixing weights (on the device).

        Returns
        -------
        Tensor
            ``(5,)`` on the device, in :data:`SUM_KEYS` order: the generator loss and the critic's loss,
            real score, fake score and penalty averaged over its updates. Not synchronised.
        """
        batches = list(batches)
        if not batches:
            raise ValueError("a step needs at least one critic batch")
        d_sums = torch.zeros(4, device=self.device)
        logits = torch.empty(0)
        extra: tuple[Tensor, ...] = ()
        for i, (melody, real, *rest) in enumerate(batches):
            batch = melody.shape[0]
            extra = tuple(rest[:1]) if self.meter_aware else ()
            noise = self.generator.sample_noise(batch, generator=rng)  # type: ignore[operator]
            # the last batch's windows also serve the generator update, so its graph is kept
            with torch.set_grad_enabled(i == len(batches) - 1), self._autocast():
                logits = self.g_forward(melody, noise, *extra)
            fake = shown_to_critic(torch.sigmoid(logits.detach()), self.critic_sees_notes).to(real.dtype)
            with self._autocast():
                real_scores, fake_scores = self._critic_scores(melody, real, fake, extra)
                loss = critic_loss(self.loss, real_scores.float(), fake_scores.float())
                if self.penalty_weight > 0:
                    alpha = torch.rand(batch, generator=rng, device=self.device)
                    penalty = gradient_penalty(self.critic, melody, real, fake, alpha, *extra)
                    loss = loss + self.penalty_weight * penalty
                else:
                    penalty = torch.zeros((), device=self.device)
            self.d_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.d_opt.step()
            d_sums += torch.stack([loss, real_scores.mean(), fake_scores.mean(), penalty]).detach().float()

        self.critic.requires_grad_(False)
        try:
            with self._autocast():
                probs = torch.sigmoid(logits)
                shown = shown_to_critic(probs, self.critic_sees_notes)
                g_loss = generator_loss(self.loss, self.d_bare(melody, shown, *extra).float())
            if self.generator_term is not None:
                g_loss = g_loss + self.generator_term(melody, probs.float(), real)
            self.g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            self.g_opt.step()
        finally:
            self.critic.requires_grad_(True)
        return torch.cat([g_loss.detach().float().view(1), d_sums / len(batches)])
