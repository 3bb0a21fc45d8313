"""Career Advisor: cited answers from career articles, with every figure sourced."""

__version__ = "0.1.0"
