"""The pipelines a user runs: compose, regenerate, enhance, extend and the demo, over the musician's controls
(:mod:`.controls`) and what they share (:mod:`.common`). No pipeline imports another pipeline."""
