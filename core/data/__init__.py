"""Data: ScienceQA records from any source, subsets, the one prompt-format module, the token preview
and the embedded sample's generator.
"""
