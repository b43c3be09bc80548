"""What both predictors share, so they start, parse and fail alike.

The server set-up, the entry point, request-body parsing and the error table. Below both predictors; imports
neither.
"""
