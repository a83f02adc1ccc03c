"""The one process stack for tests: every service as its own OS process (``tools.stack.Stack``, the runner `make
up`-like tests and benchmarks use), started and stopped around a test from its event loop.

With ``start_at`` every process reads one shared test clock (``FRONTLINE_CLOCK_FILE`` = ``clock_file``), which
the test moves with :meth:`shared.runtime.clock.FileClock.write`. A failing test gets each service's last log
lines on stderr, which pytest shows with the failure.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from shared.runtime.clock import FileClock
from tools.stack import Stack


@asynccontextmanager
async def running_stack(env: Mapping[str, str], log_dir: Path, *, extra_env: Mapping[str, str] | None = None,
                        clock_file: Path | None = None, start_at: datetime | None = None) -> AsyncIterator[Stack]:
    extra = dict(extra_env or {})
    if start_at is not None:
        clock_file = clock_file or log_dir.parent / "clock.json"
        FileClock.write(clock_file, start_at)
        extra = {**extra, "FRONTLINE_CLOCK_FILE": str(clock_file)}
    stack = Stack(env, log_dir, extra_env=extra)
    await asyncio.to_thread(stack.start)
    try:
        yield stack
    except BaseException:
        for name in stack.procs:
            tail = "\n".join(stack.log(name).splitlines()[-15:])
            print(f"---- {name} log (last lines) ----\n{tail}", file=sys.stderr)
        raise
    finally:
        await asyncio.to_thread(stack.stop)
