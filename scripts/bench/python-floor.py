#!/usr/bin/env python3
"""The floor a sysadmin's script sets: one compiled regular expression over
each line of an HAProxy log (this project's log-format behind the intake's
rfc5424 framing), counting the lines it matches. No rules, no state.

    python3 scripts/bench/python-floor.py <file>
prints one JSON object: lines, matched, seconds and cpu_seconds (the loop only), lines_per_second, lines_per_cpu_second.
"""
import json
import re
import sys
import time

LINE = re.compile(
    r'^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) '          # rfc5424 header
    r'(\S+):(\d+) \[([^\]]+)\] (\S+) (\S+)/(\S+) '              # %ci:%cp [%tr] %ft %b/%s
    r'(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) (\d+) (\d+) '     # timers %ST %B
    r'(\S+) (\S+) (\S+) (\d+)/(\d+)/(\d+)/(\d+)/(\d+) (\d+)/(\d+) '  # %CC %CS %tsc conns queues
    r'\{([^|}]*)\|([^}]*)\} "(\S+) (\S+) (\S+)" rip=(\S+) rid=(\S+)'  # {host|ua} "request" rip rid
)


def main() -> None:
    path = sys.argv[1]
    lines = 0
    matched = 0
    with open(path, encoding='utf-8', errors='replace') as f:
        t0 = time.perf_counter()
        c0 = time.process_time()
        for line in f:
            lines += 1
            if LINE.match(line):
                matched += 1
        secs = time.perf_counter() - t0
        cpu = time.process_time() - c0
    print(json.dumps({'lines': lines, 'matched': matched, 'seconds': secs, 'cpu_seconds': cpu,
                      'lines_per_second': round(lines / secs), 'lines_per_cpu_second': round(lines / cpu)}))


if __name__ == '__main__':
    main()
