"""Opening files that come from users: only regular files, opened without blocking (a
FIFO or a device is refused, never read), no larger than a stated limit. The model
loader, the data readers and the spec reader all open files through here; the writers
(model files, CSVLogger, save_idx) check and open their destinations through here too."""
import os
import re
import stat

import numpy as np


def open_regular(path, what, max_bytes, fail=None):
    """(binary file, size) for the regular file at ``path``; ``what`` names the reader in
    messages ("load_csv"), ``max_bytes`` is the largest size accepted. ``fail(problem,
    fix)`` raises the caller's own error (a ValueError naming ``what`` by default)."""
    path = os.fspath(path)
    if fail is None:
        def fail(problem, fix):
            raise ValueError(f"{what}: cannot read {path!r}: {problem}. {fix}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as problem:
        fail(f"it cannot be read ({problem.strerror or problem})", "Check the path.")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        fail(f"it is {_kind(info.st_mode)}, not a regular file", "Give the path of a file.")
    if info.st_size > max_bytes:
        os.close(fd)
        fail(f"it is {info.st_size:,} bytes, more than the limit of {max_bytes:,}",
             "Pass a larger limit if the file is what you meant.")
    return os.fdopen(fd, "rb"), info.st_size


def _kind(mode):
    return "a folder" if stat.S_ISDIR(mode) else \
        "a pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"


def check_writable(path, what):
    """Refuse, before any work, a destination that is not a regular file (a folder, a
    FIFO, a device, a socket) or whose folder is missing or not writable. ``what`` names
    the writer in messages ("CSVLogger")."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as problem:
        raise ValueError(f"{what}: cannot write {path!r}: {problem.strerror}.") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise ValueError(f"{what}: {path!r} is a folder; give a file name inside it, such as "
                         f"{os.path.join(path, 'name')!r}.")
    if mode is not None and not stat.S_ISREG(mode):
        raise ValueError(f"{what}: {path!r} is {_kind(mode)}, not a regular file; glassnet "
                         f"writes only regular files. Give the path of a file.")
    if not os.path.isdir(folder):
        raise ValueError(f"{what}: cannot write {path!r}: the folder {folder!r} does not "
                         f"exist. Create it first.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{what}: cannot write {path!r}: the folder {folder!r} is not "
                         f"writable.")
    return path


def open_for_writing(path, what, append=False, binary=False):
    """A text (or binary) file opened for writing (or appending) that is certainly a
    regular file:
    opened without blocking (a FIFO with no reader is refused, never waited on) and
    checked after opening, so nothing can swap in a pipe or a device in between."""
    path = check_writable(path, what)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else 0) | \
        getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as problem:
        raise ValueError(f"{what}: cannot write {path!r}: {problem.strerror}.") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ValueError(f"{what}: {path!r} is {_kind(info.st_mode)}, not a regular file; "
                         f"glassnet writes only regular files. Give the path of a file.")
    os.set_blocking(fd, True)
    if append:
        os.lseek(fd, 0, os.SEEK_END)
    else:
        os.ftruncate(fd, 0)
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", newline="", encoding="utf-8")


def json_nesting(data, limit, max_containers=None, chunk=1 << 18):
    """Refuse JSON (``bytes``) nested deeper than ``limit`` or holding more than
    ``max_containers`` objects and lists, counted without parsing and in slices of
    ``chunk`` bytes, so a hostile document costs a few MiB whatever its size: escaped
    characters are dropped, quotes toggle "inside a string", and a running sum of the
    brackets outside strings is the depth. Raises ValueError saying which limit."""
    depth, inside, containers, carry = 0, 0, 0, b""
    for start in range(0, len(data), chunk):
        piece = carry + data[start:start + chunk]
        run = len(piece) - len(piece.rstrip(b"\\"))
        carry, piece = (piece[-1:], piece[:-1]) if run % 2 else (b"", piece)
        codes = np.frombuffer(re.sub(rb"\\.", b"", piece, flags=re.S), np.uint8)
        quotes = np.cumsum(codes == 34, dtype=np.int32)
        outside = (quotes + inside) % 2 == 0
        inside = (inside + int(quotes[-1])) % 2 if quotes.size else inside
        opening = outside & ((codes == 91) | (codes == 123))
        steps = opening.astype(np.int8) - (outside & ((codes == 93) | (codes == 125)))
        levels = np.cumsum(steps, dtype=np.int32) + depth
        if levels.size and int(levels.max()) > limit:
            raise ValueError(f"its JSON is nested more than {limit} levels deep "
                             f"(Limits.max_json_depth)")
        depth = int(levels[-1]) if levels.size else depth
        containers += int(np.count_nonzero(opening))
        if max_containers is not None and containers > max_containers:
            raise ValueError(f"its JSON holds more than {max_containers:,} objects and lists")


def inflate(archive, info, cap, out, fail):
    """Copy the zip member ``info`` of ``archive`` into the binary file ``out``, inflated
    a MiB at a time; more than ``cap`` bytes (whatever the member declares) calls
    ``fail(problem)``, so a decompression bomb never fills memory or disk."""
    total = 0
    with archive.open(info) as member:
        while True:
            block = member.read(min(1 << 20, cap + 1 - total))
            if not block:
                return total
            total += len(block)
            if total > cap:
                fail(f"its member {info.filename!r} inflates to more than {cap:,} bytes")
            out.write(block)
