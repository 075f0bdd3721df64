"""Jobs: the one service that runs every long piece of work (training, evaluation, sweeps, model
preparation and export, the class link) in its own process, with a job folder as the only channel to the UI.

    kinds.py     the kinds of job, registered once (typed request -> `submit(request)`), one list of jobs
    runner.py    the one writer of a job's states; SIGTERM / Ctrl-C -> stopped (exit 130); launch; child env
    lifecycle.py the typed Status, reading it honestly (crashed when the process is gone), stop requests
    runs.py      the job folder's layout (the only module that spells its file names), metrics, listing
    device.py    the device lease: one holder at a time across processes and threads, holder and queue readable
"""
