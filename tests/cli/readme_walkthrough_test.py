#!/usr/bin/env python3
"""The README's demo walkthrough, command by command, against a real factlogd.

Starts factlogd on 127.0.0.1:0 over a temporary data dir, imports the demo
story, then runs every `$ factlog ...` command of the README's "The demo
story" transcripts with COLUMNS=80 (the width the README says they were
taken at) and compares what it prints with what the README shows. Times
are normalised (they differ on every run) and a "..." line in the README
stands for any number of lines. `factlog watch` runs in the background
while the next command runs, as the README tells the reader to do.

Usage: readme_walkthrough_test.py README FACTLOGD FACTLOG DEMO...
(the demo files are imported in the order given, as scripts/run does)
Exit 0 when every transcript matches, 1 otherwise (with a diff).
"""
import os
import re
import select
import shlex
import subprocess
import sys
import tempfile
import time

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def normalise(text):
    return [TIME.sub("TIME", line.rstrip()) for line in text.rstrip("\n").split("\n")]


def matches(want, got):
    """`want` lines match `got` lines; "..." in `want` matches any run."""
    if not want:
        return not got
    if want[0] == "...":
        return any(matches(want[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and want[0] == got[0] and matches(want[1:], got[1:])


def transcripts(readme):
    """(command, expected output) for each `$ factlog` line of the demo story
    and of the two-clocks walkthrough."""
    text = open(readme, encoding="utf-8").read()
    sections = []
    for heading in ("## The demo story", "## What was known when"):
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        sections.append(text[start:end if end >= 0 else len(text)])
    for block in re.findall(r"```text\n(.*?)```", "\n".join(sections), re.S):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            lines = part.rstrip("\n").split("\n")
            command = lines.pop(0)
            while command.endswith("\\"):
                command = command[:-1] + " " + lines.pop(0).strip()
            yield command, "\n".join(lines)


def read_lines(stream, count, timeout=15):
    """`count` lines from `stream` within `timeout` seconds."""
    lines, deadline = [], time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = stream.readline()
        if not line:
            break
        lines.append(line)
    return "".join(lines)


def main():
    readme, factlogd, factlog = sys.argv[1:4]
    demos = sys.argv[4:]
    failures = 0
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [factlogd, "--listen", "127.0.0.1:0", "--data-dir", data + "/data"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            first = read_lines(server.stdout, 1, timeout=60)
            address = re.search(r"listening on (\S+)", first).group(1)
            env = {k: v for k, v in os.environ.items() if not k.startswith("FACTLOG_")}
            env.update(COLUMNS="80", FACTLOG_SERVER=address)
            for demo in demos:
                subprocess.run([factlog, "import", demo], env=env, check=True,
                               stdout=subprocess.DEVNULL)
            watch, watch_want = None, None
            for command, want in transcripts(readme):
                argv = [factlog] + shlex.split(command)[1:]
                if argv[1:] == ["watch"]:
                    watch = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True)
                    want_lines = want.split("\n")
                    # stderr first: once it says so, the watch is live.
                    got = read_lines(watch.stderr, 1)
                    if not matches(normalise(want_lines[0]), normalise(got)):
                        failures += 1
                        print(f"FAIL $ {command} (stderr)\nwant: {want_lines[0]}\ngot:  {got}")
                    watch_want = "\n".join(want_lines[1:])
                    continue
                result = subprocess.run(argv, env=env, capture_output=True, text=True)
                if not matches(normalise(want), normalise(result.stdout)):
                    failures += 1
                    print(f"FAIL $ {command}\n--- README\n{want}\n--- factlog\n"
                          f"{result.stdout}{result.stderr}")
                else:
                    print(f"ok   $ {command}")
                if watch is not None:
                    want_lines = normalise(watch_want)
                    got = read_lines(watch.stdout, len(want_lines))
                    if not matches(want_lines, normalise(got)):
                        failures += 1
                        print(f"FAIL $ factlog watch\n--- README\n{watch_want}\n"
                              f"--- factlog\n{got}")
                    else:
                        print("ok   $ factlog watch")
                    watch.terminate()
                    watch.wait(15)
                    watch = None
        finally:
            server.terminate()
            server.wait(30)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
