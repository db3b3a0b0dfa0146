"""From a network's outputs to notes: the note policy (:mod:`.notes`), the one generation path over windows of a
melody (:mod:`.generation`, :mod:`.windows`), the AR-CNN's Gibbs rewriting (:mod:`.gibbs`) and the Transformer's
token sampling (:mod:`.continuation`). Below the pipelines and the trainer, which both sample the same way."""

#: What a rewrite may do about consecutive fifths and octaves between single lines
#: (:func:`museforge.sampling.voice_rules.forbids_parallels`). Here, free of torch, for the CLI's start-up.
PARALLELS = ("forbid", "allow")
