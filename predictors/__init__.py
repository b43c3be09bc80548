"""KServe custom predictors: ``scorer`` ranks candidate tips, ``generator`` writes one with an LLM.

The two predictors never import each other; what they share (the error-to-status table mechanism) lives
in ``predictors.common``.
"""
