"""``tipsml demo``: the whole loop on embedded defaults, one module per group of stages."""
