"""What a person hears and sees: MIDI / WAV / PNG outputs of a piece (:mod:`.outputs`), audio through FluidSynth
(:mod:`.audio`), piano-roll pictures (:mod:`.plots`) and a run's loss curves (:mod:`.curves`)."""
