#!/usr/bin/env python3
"""Seekable archives (issue 14): the closing figures, as ratios.

A benchmark, not a test: it prints figures and exits 0 unless a command
under measurement fails.

    bench/seek.py --cairn BUILD/cairn --data TREE [--old OLD/cairn]

On one make-dataset tree (the conf/mss.conf components; --mb as you
like: the issue asks for 2048):
  * one 1 MiB WAV restored with `restore --path ... --to`: the bytes it
    read (/proc/PID/io rchar, read just before the process is reaped)
    against its frame plus the index, and its time against a full
    restore's;
  * the archive's size against the single-stream writer's (--old: a
    cairn built before frames, same level and threads);
  * the full backup against the floor, `tar -cf - | sha256sum`.
Medians of --runs runs (default 3), page cache warm.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CONF = """[cairn]
name = mss
source = {src}
archive_dir = {out}/archive
state_dir = {out}/state
compression = zstd
keep_last = 100

[component db]
type = sqlite
path = data/sound_machine.db

[component audio]
type = files
path = Sounds

[component config]
type = files
path = config data/server_id.txt data/exports

[component logs]
type = files
path = log
required = no

[mode db]
components = db
"""


def run(argv, **kw):
    """Run argv; (seconds, rchar) of it, /proc read before reaping."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, **kw)
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    dt = time.monotonic() - t0
    rchar = 0
    try:
        with open(f"/proc/{p.pid}/io") as f:
            for line in f:
                k, v = line.split(":")
                if k == "rchar":
                    rchar = int(v)
    except OSError:
        pass
    err = p.stderr.read().decode(errors="replace")
    if p.wait() != 0:
        sys.exit(f"bench: {' '.join(argv)} failed:\n{err}")
    return dt, rchar


def shell(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def index_of(arch):
    recs = {}
    with open(arch + ".index", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            x = line.rstrip("\n").split("\t")
            if len(x) >= 20 and x[0] in "fdlh":
                recs[x[1]] = x
    return recs


def backup(cairn, conf, out):
    shutil.rmtree(out + "/archive", ignore_errors=True)
    dt, _ = run([cairn, "-q", "-c", conf, "backup", "--no-targets"])
    arch = [a for a in os.listdir(out + "/archive")
            if a.startswith("mss-backup-2") and a.endswith(".tar.zst")][0]
    return dt, os.path.join(out, "archive", arch)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--old")
    ap.add_argument("--data", required=True)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cairn-seek.")
    conf = os.path.join(work, "c.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(src=a.data, out=work))
    os.chmod(conf, 0o600)
    shell(f"tar -cf - -C {a.data} . >/dev/null")  # warm the cache

    floor = statistics.median(
        shell(f"tar -cf - -C {a.data} . | sha256sum") for _ in range(a.runs))
    bt = []
    for _ in range(a.runs):
        dt, arch = backup(a.cairn, conf, work)
        bt.append(dt)
    size = os.path.getsize(arch)
    recs = index_of(arch)
    wavs = sorted((abs(int(r[2]) - (1 << 20)), p) for p, r in recs.items()
                  if p.endswith(".wav") and r[0] == "f")
    wav = wavs[0][1]
    r = recs[wav]
    frame = int(r[17])
    ixsize = os.path.getsize(arch + ".index")

    one, full, rc1 = [], [], []
    for _ in range(a.runs):
        d = os.path.join(work, "one")
        shutil.rmtree(d, ignore_errors=True)
        dt, rchar = run([a.cairn, "-q", "-c", conf, "restore", "--path",
                         wav, "--to", d])
        one.append(dt)
        rc1.append(rchar)
        d = os.path.join(work, "full")
        shutil.rmtree(d, ignore_errors=True)
        dt, _ = run([a.cairn, "-q", "-c", conf, "restore", "full",
                     "--to", d])
        full.append(dt)
        shutil.rmtree(d, ignore_errors=True)
    old = None
    if a.old:
        shutil.rmtree(work + "/archive", ignore_errors=True)
        _, oarch = backup(a.old, conf, work)
        old = os.path.getsize(oarch)

    mb = 1 << 20
    print(f"tree {a.data}: archive {size / mb:.1f} MiB, "
          f"{len(recs)} members, index {ixsize / 1024:.0f} KiB")
    print(f"one WAV ({wav}, {int(r[2]) / mb:.2f} MiB, frame "
          f"{frame / mb:.2f} MiB):")
    rm = statistics.median(rc1)
    print(f"  bytes read (rchar) {rm / mb:.2f} MiB = "
          f"{rm / (frame + ixsize):.2f}x (frame + index)")
    print(f"  time {statistics.median(one):.3f} s vs full restore "
          f"{statistics.median(full):.3f} s: "
          f"{statistics.median(one) / statistics.median(full):.3f}x "
          f"(target <= 0.02x)")
    if old:
        print(f"archive size vs single-stream writer: {size / old:.4f}x "
              f"({size} / {old} bytes; target within 1%)")
    print(f"full backup {statistics.median(bt):.2f} s vs floor "
          f"{floor:.2f} s: {statistics.median(bt) / floor:.2f}x "
          f"(target <= 1.3x)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
