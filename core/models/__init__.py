"""Models: the catalogue, loading, conversion and import, the tiny preset, chat templates, memory
estimates, devices. (The Hub client is core.hub; publishing a run is core.evaluation.publish: its card
carries the run's evaluations.)
"""
