"""Cost, carbon and budgets from the bundled, dated catalog.

Importing this package imports no torch and no cloud SDK; calibration imports
torch only when it runs.
"""
