"""The default generator: an answer composed only of source sentences.

Offline, deterministic and fast (a few milliseconds per answer), and it
cannot invent: every sentence is copied from a numbered passage and carries
its [n]. It picks sentences for the question (term overlap weighted by rarity,
the passage's rank, and what the question asks about: pay, duration, two
things compared), drops near-repeats, and lays them out as a short answer:
one lead sentence, then the supporting points. Pay questions list every
sourced figure with who reported it and when, side by side, never merged.
"""

from advisor.extractive.compose import compose

__all__ = ["compose"]
