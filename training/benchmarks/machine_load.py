"""How much of the machine a benchmark stage had to itself: other processes' CPU, and the hypervisor's steal.

The suite's figures are ratios of measurements taken minutes apart on a
shared machine. A process started beside a stage, or a busy neighbour on
the host, slows that stage alone and bends its ratio without a trace in
the figures. Linux counts both: `/proc/stat` holds the CPU time that every
process has used and the time the hypervisor took away (steal), and
`getrusage` gives the stage's own. Where there is no `/proc/stat`, the
shares are not measured (`None`).
"""

import os
import resource
import time

# A stage is marked when other processes, or the hypervisor, took this share of the machine.
NOTABLE_SHARE = 0.05


def machine_cpu_seconds(path="/proc/stat"):
    """`(busy, steal, cpus)` from `path`, a Linux `/proc/stat`; `None` if it cannot be read.

    `busy` is the CPU seconds that every process has used since boot (user,
    nice, system and interrupts; a guest's time is inside user), `steal` the
    seconds the hypervisor ran something else, and `cpus` the number of CPUs
    the figures add up.
    """
    try:
        with open(path, encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    fields = lines[0].split() if lines else []
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    cpus = sum(1 for line in lines[1:] if line.startswith("cpu") and line[3:4].isdigit())
    ticks = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / ticks, steal / ticks, max(cpus, 1)


class StageLoad:
    """The load on the machine from now until `finish()`: create it before a stage's process starts.

    The stage's own CPU time is this process's and that of its children
    waited for in between (`RUSAGE_CHILDREN`), so `finish()` must come after
    the stage's process has been waited for.
    """

    def __init__(self, path="/proc/stat"):
        self._path = path
        self._machine = machine_cpu_seconds(path)
        self._own = _own_cpu_seconds()
        self._started = time.perf_counter()

    def finish(self):
        """`{"seconds", "stage_cpu_seconds", "other_share", "steal_share"}`.

        The shares are of the machine's CPU time over the stage's wall time:
        0.1 on 2 cores means other processes used 0.2 cores on average.
        Both are `None` without `/proc/stat`.
        """
        seconds = time.perf_counter() - self._started
        own = _own_cpu_seconds() - self._own
        load = {"seconds": seconds, "stage_cpu_seconds": own, "other_share": None, "steal_share": None}
        machine = machine_cpu_seconds(self._path)
        if self._machine is not None and machine is not None and seconds > 0:
            capacity = seconds * machine[2]
            load["other_share"] = max(0.0, machine[0] - self._machine[0] - own) / capacity
            load["steal_share"] = max(0.0, machine[1] - self._machine[1]) / capacity
        return load


def notable(load):
    """A sentence when other processes or the hypervisor took `NOTABLE_SHARE` of the machine, else `None`."""
    other, steal = (load or {}).get("other_share"), (load or {}).get("steal_share")
    if other is None or max(other, steal) < NOTABLE_SHARE:
        return None
    return (
        f"other processes used {other:.0%} of the machine's CPU during this stage, and the hypervisor "
        f"took {steal:.0%} (steal); its figures are less reliable."
    )


def _own_cpu_seconds():
    """CPU seconds of this process and of its children that have been waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total
