"""Malformed and extreme MIDI files, generated deterministically, and the runner that feeds them to museforge."""
