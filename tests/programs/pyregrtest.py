#!/usr/bin/env python3
"""Run CPython's regression tests (python3 -m test ARGS...) for tests/programs/run.sh.

Many tests start child interpreters and insist that their stderr is empty. The children
inherit LD_PRELOAD and would print segalloc's exit report (SEGALLOC_SHOW_STATS=1) on
stderr, failing those tests for a reason that has nothing to do with the allocator. So
this wrapper takes SEGALLOC_SHOW_STATS out of the environment while the tests run (the
children still run on segalloc, silently) and puts it back just before this interpreter
exits, so that this process still prints its own report.
"""
import os
import sys

show = os.environ.pop("SEGALLOC_SHOW_STATS", None)
try:
    from test.libregrtest import main
    main()
finally:
    if show is not None:
        os.environ["SEGALLOC_SHOW_STATS"] = show
