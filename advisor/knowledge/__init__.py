"""The library's own knowledge: who and what its articles are about, derived when indexing."""

from advisor.knowledge.lexicon import Lexicon, LexiconData, Mention, Subject

__all__ = ["Lexicon", "LexiconData", "Mention", "Subject"]
