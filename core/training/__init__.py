"""Training: recipes and run configs, batching with the assistant-only loss, the optimizers, the
background worker and how runs are started, resumed and sized.
"""
