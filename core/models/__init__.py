"""Models: the catalogue, loading, conversion and import, the tiny preset, chat templates, memory
estimates, devices, the Hub and publishing.
"""
