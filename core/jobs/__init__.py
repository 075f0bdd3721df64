"""Jobs: the run folder protocol between a background worker and the UI (status, metrics, logs,
stop requests, the device slot).
"""
