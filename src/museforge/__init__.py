"""museforge: train GANs on music of a genre and let them accompany your melodies."""

__version__ = "0.1.0"
