"""`./dev gradescope-check`: install autograder zips on a clean Debian root and grade them as Gradescope does.

Modules, one job each: :mod:`.root` (the cached debootstrap root and fresh copies),
:mod:`.mounts` (what the root sees of the host), :mod:`.cgroups` (memory and CPU
limits, peak memory), :mod:`.run` (a command inside the root with Docker's
capabilities), :mod:`.image` (setup.sh and gradings of one zip), :mod:`.check`
(the comparison with `course grade` and the printed table).
"""
