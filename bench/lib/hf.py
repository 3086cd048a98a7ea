#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# hf.py JSON... — one Markdown row fragment per hyperfine export: min | median | mean ± σ | runs (ms).
import json
import sys

for path in sys.argv[1:]:
    with open(path) as f:
        r = json.load(f)["results"][0]
    ms = lambda s: f"{s * 1000:.2f}"
    print(f"{ms(r['min'])} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'] or 0)} | {len(r['times'])}")
