#!/usr/bin/env python3
"""Run one benchmark command and measure it (used by test/bench/lib.sh; run as root).

  measure.py --out FILE [--user USER] [--worker PID] [--exclude NAMES] -- CMD...

Runs CMD (as USER if given), polls every 20 ms the processes it measures, and writes
key=value lines to FILE once CMD has exited:

  rc            CMD's exit status
  wall_s        wall time of CMD
  cpu_s         user + system CPU time of the measured processes, their reaped children included
  peak_rss_kib  peak over the polls of the summed RSS (VmRSS - RssShmem) of the measured
                processes whose name is not in --exclude (default: pg_dump, pg_dumpall and
                the shells and helpers around them); 0 if none was seen
  write_bytes   bytes the measured processes caused to be written to storage (write_bytes of
                /proc/PID/io; Linux adds a reaped child's counters into its parent's)

Without --worker the measured processes are CMD and its descendants: CPU from wait4()'s
rusage, write_bytes as the growth of this process's own /proc/self/io once CMD is reaped.
With --worker PID (a long-lived process such as ramsafe's background worker, which CMD
only asks to work) the measured processes are PID and its descendants instead: CPU and
write_bytes are the growth of PID's own counters (utime+stime+cutime+cstime from
/proc/PID/stat, write_bytes from /proc/PID/io) between CMD's start and end.
"""
import argparse
import os
import pwd
import subprocess
import sys
import time

DEFAULT_EXCLUDE = "pg_dump,pg_dumpall,bash,sh,dash,setpriv,runuser,sync,psql,sleep,cat,measure.py"


def read_io_write_bytes(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def read_cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # after ")": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based from state
        return sum(int(x) for x in fields[11:15])
    except (OSError, IndexError, ValueError):
        return 0


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        rest = data.rsplit(")", 1)
        if len(rest) != 2:
            continue
        name = data[data.find("(") + 1 : data.rfind(")")]
        ppid = int(rest[1].split()[1])
        kids.setdefault(ppid, []).append((int(entry), name))
    return kids


def rss_kib(pid):
    rss = shmem = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssShmem:"):
                    shmem = int(line.split()[1])
    except OSError:
        return 0
    return max(0, rss - shmem)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--user")
    ap.add_argument("--worker", type=int)
    ap.add_argument("--exclude", default=DEFAULT_EXCLUDE)
    ap.add_argument("--python-counts", action="store_true",
                    help="count python processes (the Fernet baseline is a Python script)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")
    exclude = set(filter(None, a.exclude.split(",")))
    tick = os.sysconf("SC_CLK_TCK")

    kwargs = {}
    if a.user:
        pw = pwd.getpwnam(a.user)
        kwargs = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd="/",
                      env={**os.environ, "HOME": pw.pw_dir, "USER": a.user, "LOGNAME": a.user})
    io0 = read_io_write_bytes("self")
    w_io0 = read_io_write_bytes(a.worker) if a.worker else 0
    w_cpu0 = read_cpu_ticks(a.worker) if a.worker else 0
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, **kwargs)
    root = a.worker if a.worker else proc.pid
    peak = 0
    status = None
    while status is None:
        peak = max(peak, tree_rss_kib_filtered(root, exclude, a.python_counts))
        if a.worker:
            peak = max(peak, tree_rss_kib_filtered(proc.pid, exclude, a.python_counts))
        deadline = time.monotonic() + 0.02
        while status is None and time.monotonic() < deadline:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                status = (st, ru)
                break
            time.sleep(0.005)
    wall = time.monotonic() - t0
    st, ru = status
    rc = os.waitstatus_to_exitcode(st)
    if a.worker:
        cpu = (read_cpu_ticks(a.worker) - w_cpu0) / tick
        wb = read_io_write_bytes(a.worker) - w_io0
    else:
        cpu = ru.ru_utime + ru.ru_stime
        wb = read_io_write_bytes("self") - io0
    with open(a.out, "w") as f:
        f.write(f"rc={rc}\nwall_s={wall:.3f}\ncpu_s={cpu:.3f}\npeak_rss_kib={peak}\nwrite_bytes={wb}\n")
    return 0


def tree_rss_kib_filtered(root, exclude, python_counts):
    kids = children_map()
    names = {}
    for ppid, lst in kids.items():
        for pid, name in lst:
            names[pid] = name
    total = 0
    stack = [root]
    seen = set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        name = names.get(pid)
        counted = name is not None and name not in exclude
        if counted and name.startswith("python") and not python_counts:
            counted = False
        if counted:
            total += rss_kib(pid)
        stack.extend(child for child, _ in kids.get(pid, []))
    return total


if __name__ == "__main__":
    sys.exit(main())
