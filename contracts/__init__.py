"""The only home of shared schemas: events, prompt context, profile features, predictor I/O, CRDs.

Nothing here performs I/O, so every deployable can import it without side effects.
"""
