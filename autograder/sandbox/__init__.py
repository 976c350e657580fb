"""Run a student's module in a separate, limited process and talk to it with plain data.

``protocol`` encodes values without pickle, ``worker`` is the program that runs on the
student side, and ``client`` starts, limits, calls and kills it from the trusted side,
with ``slots`` (the grading's two uids and the workers started on them, the next line's
ahead), ``preload`` (what a worker imports before it is ready), ``uids`` (which sandbox user), ``isolation`` (namespaces and the command that makes
them), ``cgroups`` (memory and process limits), ``sweep`` (what a uid leaves behind),
``remote`` (stand-ins for the student's module and objects) and ``errors``. ``warm``
(trusted side) and ``zygote`` (its root process) fork pre-warmed workers, which
``confine`` isolates from inside the forked child as ``isolation``'s prefix does a cold one.
"""
