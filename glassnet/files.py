"""Opening files that come from users: only regular files, opened without blocking (a
FIFO or a device is refused, never read), no larger than a stated limit. The model
loader, the data readers and the spec reader all open files through here."""
import os
import stat


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
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else \
            "a pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        fail(f"it is {kind}, not a regular file", "Give the path of a file.")
    if info.st_size > max_bytes:
        os.close(fd)
        fail(f"it is {info.st_size:,} bytes, more than the limit of {max_bytes:,}",
             "Pass a larger limit if the file is what you meant.")
    return os.fdopen(fd, "rb"), info.st_size
