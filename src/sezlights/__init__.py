"""sezlights: VIIRS nighttime-lights statistics for Special Economic Zones.

The Snakemake workflow under ``workflow/`` is a thin shell around this package:
each stage (months -> manifest -> tiles -> mosaic -> stats -> table) is a module here
that pytest tests directly.
"""

__version__ = "0.1.0"
