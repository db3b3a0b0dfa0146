"""The Enhance and Extend section of ``docs/results.md``: the figures ``scripts/measure_techniques.py`` recorded in
the shipped technique models' cards."""

from __future__ import annotations

from typing import Any

from museforge.evaluate.markdown import fmt, name, table
from museforge.pretrained import list_technique_models


def techniques_section() -> list[str]:
    """The Enhance and Extend section of the results page, from the figures in the shipped models' cards
    (``evaluation``, written by ``scripts/measure_techniques.py``); empty when none is recorded."""

    lines: list[str] = []
    enhance = next((c for c in list_technique_models("enhance") if c.get("evaluation")), None)
    extend = next((c for c in list_technique_models("extend") if c.get("evaluation")), None)
    if enhance is None and extend is None:
        return lines
    lines += ["## Enhance and Extend", ""]
    if enhance is not None:
        e = enhance["evaluation"]
        lines += [
            f"**Enhance** (`enhance/{enhance['name']}`, AR-CNN of {_millions(enhance)} parameters, trained "
            f"{_technique_training(enhance)}). Measured by `{e['command']}` on {e['windows']} windows of 4 bars of the "
            f"test split: the alto, tenor and bass written afresh under the real soprano in {e['iterations']} "
            "iterations (*enhance*), the Bach U-Net GAN's voices for the same melodies (*GAN*), and the GAN's voices "
            "revised by the AR-CNN (half of them redrawn at first, then annealed: *GAN + rewrite*), each against the "
            "real voices of the same windows.",
            "",
        ]
        rows = []
        metrics = ("key_fit", "consonance", "pitches_per_step", "one_step_note_rate", "melody_doubling")
        for role in ("alto", "tenor", "bass"):
            for metric in metrics:
                cells = [e[kind][role].get(metric) for kind in ("enhance", "gan", "gan_revised")]
                if cells[0] is None:
                    continue
                rows.append([role, name(metric), *(fmt(c[0]) for c in cells), fmt(cells[0][1])])
        lines += table(["voice", "metric", "enhance", "GAN", "GAN + rewrite", "real"], rows)
        lines.append("")
        voice = {kind: e[kind].get("voice_leading") or {} for kind in ("enhance", "gan", "gan_revised")}
        if voice["enhance"]:
            rows = [
                [name(check), *(fmt(voice[k][check][0]) for k in voice), fmt(voice["enhance"][check][1])]
                for check in voice["enhance"]
            ]
            lines += ["Voice leading:", "", *table(["check", "enhance", "GAN", "GAN + rewrite", "real"], rows, 1), ""]
            lines += _other_rule(e)
        samples = e["samples"]["mean_over_voices_and_melodies"]
        lines += [
            "On the 8 built-in melodies (mean over the three voices): key fit "
            + ", ".join(f"{k.replace('_', ' ')} {fmt(v['key_fit'])}" for k, v in samples.items())
            + "; consonance "
            + ", ".join(f"{k.replace('_', ' ')} {fmt(v['consonance'])}" for k, v in samples.items())
            + f". One window of enhance takes {e['enhance_seconds_per_window']:.2f} s on this machine.",
            "",
        ]
    if extend is not None:
        x = extend["evaluation"]
        gen, real = x["continuations"]["generated"], x["continuations"]["real"]
        lines += [
            f"**Extend** (`extend/{extend['name']}`, Transformer of {_millions(extend)} parameters, trained "
            f"{_technique_training(extend)} on the melodies of {extend['genre'].replace('+', ', ')}). Measured by "
            f"`{x['command']}`. Loss per token on the test split's melodies ({x['test_tokens']} tokens, nats): "
            f"Transformer {x['test_loss']:.3f}, bigram {x['test_bigram_loss']:.3f}, unigram "
            f"{x['test_unigram_loss']:.3f}. Continuations of 4 bars after the first 4 bars of {x['prompts']} test "
            f"melodies, against the real next 4 bars ({x['seconds_per_4_bar_continuation']:.2f} s each):",
            "",
            *table(
                ["metric", "generated", "real"],
                [[name(k), fmt(gen[k]), fmt(real[k])] for k in gen],
            ),
            "",
        ]
    return lines


def _technique_training(card: dict[str, Any]) -> str:
    training = card.get("training") or {}
    hyper = card.get("hyperparameters") or {}
    return (
        f"for {float(training.get('seconds', 0)) / 60:.0f} min on {training.get('hardware', '?')}: "
        f"{card.get('step', '?')} updates of batch {hyper.get('batch_size')}, {hyper.get('loss')} loss"
    )


def _millions(card: dict[str, Any]) -> str:
    return f"{card['parameters']['generator'] / 1e6:.2f} M"


def _other_rule(evaluation: dict[str, Any]) -> list[str]:
    """A sentence on the voice leading of the same rewrites with the sampler's part-writing rule the other way."""
    other = evaluation.get("other_rule")
    if not other:
        return []
    rule = evaluation.get("parallels", "allow")
    said = "forbids consecutive fifths and octaves" if rule == "forbid" else "allows consecutive fifths and octaves"
    figures = "; ".join(
        f"{label} {fmt(other[kind]['voice_leading']['parallels_per_window'][0])} a window "
        f"(parallel rate {fmt(other[kind]['voice_leading']['parallel_rate'][0])})"
        for kind, label in (("enhance", "enhance"), ("gan_revised", "GAN + rewrite"))
    )
    flipped = "allowed" if rule == "forbid" else "forbidden"
    return [
        f"The sampler {said} between the voices by default (`--parallels`, `museforge.sampling.voice_rules`); "
        f"with them {flipped}, the same windows get: {figures}.",
        "",
    ]


__all__ = ["techniques_section"]
