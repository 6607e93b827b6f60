"""Kernel confinement for the process that runs a learner's code.

The grading worker imports torch and then a learner's file. Before that file
is loaded, the worker confines itself with Landlock (Linux 5.13+), so that the
learner's code can read only what Python and its packages need, write only a
private scratch folder, open no TCP connection (Landlock ABI 4+) and signal no
process outside its sandbox (ABI 6+). Resource limits (``set_limits``) bound
memory, CPU time, file size and open files on every POSIX system.

Landlock rules are allow-lists on the directory tree: a rule on a directory
grants its rights to everything beneath it. To keep a folder unreadable inside
an otherwise readable tree, ``python_read_roots`` allows the siblings of that
folder one by one instead of their common parent.

The three Landlock syscalls are called through ctypes (about a hundred lines)
rather than through the `landlock` package on PyPI, whose only releases are
development versions: no dependency, and every ABI field this code uses is
checked by its tests against the running kernel.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import stat
import struct
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NoReturn, Union

PathArg = Union[str, os.PathLike]

# Values from the kernel's include/uapi/linux/landlock.h.
ACCESS_FS_EXECUTE = 1 << 0
ACCESS_FS_WRITE_FILE = 1 << 1
ACCESS_FS_READ_FILE = 1 << 2
ACCESS_FS_READ_DIR = 1 << 3
ACCESS_FS_REMOVE_DIR = 1 << 4
ACCESS_FS_REMOVE_FILE = 1 << 5
ACCESS_FS_MAKE_CHAR = 1 << 6
ACCESS_FS_MAKE_DIR = 1 << 7
ACCESS_FS_MAKE_REG = 1 << 8
ACCESS_FS_MAKE_SOCK = 1 << 9
ACCESS_FS_MAKE_FIFO = 1 << 10
ACCESS_FS_MAKE_BLOCK = 1 << 11
ACCESS_FS_MAKE_SYM = 1 << 12
ACCESS_FS_REFER = 1 << 13
ACCESS_FS_TRUNCATE = 1 << 14
ACCESS_FS_IOCTL_DEV = 1 << 15

ACCESS_NET_BIND_TCP = 1 << 0
ACCESS_NET_CONNECT_TCP = 1 << 1

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_FS_V1 = (1 << 13) - 1
_FS_BY_ABI = {1: _FS_V1}
_FS_BY_ABI[2] = _FS_BY_ABI[1] | ACCESS_FS_REFER
_FS_BY_ABI[3] = _FS_BY_ABI[2] | ACCESS_FS_TRUNCATE
_FS_BY_ABI[4] = _FS_BY_ABI[3]
_FS_BY_ABI[5] = _FS_BY_ABI[4] | ACCESS_FS_IOCTL_DEV

# The only rights the kernel accepts in a rule on something that is not a directory.
_FILE_RIGHTS = (
    ACCESS_FS_EXECUTE
    | ACCESS_FS_WRITE_FILE
    | ACCESS_FS_READ_FILE
    | ACCESS_FS_TRUNCATE
    | ACCESS_FS_IOCTL_DEV
)
_READ_DIR_RIGHTS = ACCESS_FS_READ_FILE | ACCESS_FS_READ_DIR | ACCESS_FS_EXECUTE
_READ_FILE_RIGHTS = ACCESS_FS_READ_FILE | ACCESS_FS_EXECUTE

# The Landlock syscalls share one number on every architecture but alpha.
_SYSCALLS = (554, 555, 556) if platform.machine().startswith("alpha") else (444, 445, 446)

_SYSTEM_DIRS = (
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32",
    "/etc", "/proc", "/sys", "/dev", "/opt",
)

_UNAVAILABLE = "Landlock is not available on this system (Linux 5.13+ needed)."


@dataclass(frozen=True)
class Confinement:
    """What ``confine`` could enforce, so the caller can warn about what it could not."""

    abi: int
    files_confined: bool
    net_confined: bool
    signals_confined: bool
    reason: str


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _probe() -> tuple[int, int]:
    """Return (ABI version, errno); the version is 0 whenever Landlock cannot be used."""
    if not sys.platform.startswith("linux"):
        return 0, errno.ENOSYS
    try:
        libc = _libc()
        libc.syscall.restype = ctypes.c_long
        version = libc.syscall(
            ctypes.c_long(_SYSCALLS[0]), ctypes.c_void_p(None),
            ctypes.c_ulong(0), ctypes.c_ulong(_CREATE_RULESET_VERSION),
        )
        err = ctypes.get_errno()
    except (OSError, AttributeError):
        return 0, errno.ENOSYS
    if version < 1:
        return 0, err or errno.ENOSYS
    return int(version), 0


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock cannot be used here."""
    return _probe()[0]


def _unavailable_reason() -> str:
    if not sys.platform.startswith("linux"):
        return "Landlock is Linux-only; files, network and signals are not confined."
    version, err = _probe()
    if version == 0 and err == errno.EOPNOTSUPP:
        return "Landlock is built into this kernel but disabled (add landlock to the lsm= boot option)."
    if version == 0 and err == errno.EPERM:
        return "Landlock is blocked here (a seccomp filter or container refuses its syscalls)."
    return _UNAVAILABLE


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _raise_errno(what: str) -> NoReturn:
    err = ctypes.get_errno()
    raise OSError(err, f"Landlock confinement failed: {what}: {os.strerror(err)}")


def confine(
    read: Iterable[PathArg],
    write: Iterable[PathArg],
    list_only: Iterable[PathArg] = (),
) -> Confinement:
    """Confine this process (and its future children) to the given paths, for good.

    ``read`` paths become readable and executable, ``write`` paths fully usable
    (directories) or readable and writable (files and devices such as /dev/null).
    ``list_only`` directories may be listed but grant no file reads (see
    ``python_listable_dirs``). Everything else on the filesystem is denied, and
    where the kernel can, so are TCP bind/connect and signals or abstract unix
    sockets reaching outside the sandbox. Missing paths are skipped.

    Landlock applies to the calling thread only, so this refuses to run while
    another thread exists. Without Landlock nothing is applied and the result
    says why. A syscall failure once building has started raises OSError, so a
    half-built confinement is never reported as applied.
    """
    abi = landlock_abi()
    if abi < 1:
        return Confinement(abi=0, files_confined=False, net_confined=False,
                           signals_confined=False, reason=_unavailable_reason())
    if _thread_count() > 1:
        raise RuntimeError(
            "confine() must run before any other thread starts: "
            "Landlock would not cover the threads that already exist."
        )

    fs = _FS_BY_ABI[min(abi, 5)]
    net = ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    if abi >= 6:
        attr = struct.pack("=QQQ", fs, net, scoped)
    elif abi >= 4:
        attr = struct.pack("=QQ", fs, net)
    else:
        attr = struct.pack("=Q", fs)

    requests = [(p, _READ_DIR_RIGHTS, _READ_FILE_RIGHTS) for p in read]
    requests += [(p, fs, fs & _FILE_RIGHTS) for p in write]
    requests += [(p, ACCESS_FS_READ_DIR, 0) for p in list_only]

    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    # One rule per inode, rights merged; each path's fd is open only while it is used, so that a
    # large environment (hundreds of packages beside a hidden attnquiz) stays under RLIMIT_NOFILE.
    rules: dict[tuple[int, int], tuple[int, str]] = {}
    for path, dir_rights, file_rights in requests:
        real = os.path.realpath(os.fspath(path))
        try:
            info = os.stat(real)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        rights = (dir_rights if stat.S_ISDIR(info.st_mode) else file_rights) & fs
        key = (info.st_dev, info.st_ino)
        first_rights, first_path = rules.get(key, (0, real))
        rules[key] = (first_rights | rights, first_path)

    ruleset = -1
    try:
        buf = ctypes.create_string_buffer(attr, len(attr))
        ruleset = libc.syscall(ctypes.c_long(_SYSCALLS[0]), buf,
                               ctypes.c_ulong(len(attr)), ctypes.c_ulong(0))
        if ruleset < 0:
            _raise_errno("landlock_create_ruleset")
        for rights, real in rules.values():
            if not rights:
                continue
            try:
                fd = os.open(real, os.O_PATH | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            try:
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                if libc.syscall(ctypes.c_long(_SYSCALLS[1]), ctypes.c_long(ruleset),
                                ctypes.c_ulong(_RULE_PATH_BENEATH), rule,
                                ctypes.c_ulong(0)) < 0:
                    _raise_errno(f"landlock_add_rule for {real}")
            finally:
                os.close(fd)
        if libc.prctl(ctypes.c_int(_PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1),
                      ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            _raise_errno("prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(ctypes.c_long(_SYSCALLS[2]), ctypes.c_long(ruleset),
                        ctypes.c_ulong(0)) < 0:
            _raise_errno("landlock_restrict_self")
    finally:
        if ruleset >= 0:
            os.close(ruleset)
    return Confinement(abi=abi, files_confined=True, net_confined=abi >= 4,
                       signals_confined=abi >= 6, reason="")


def _within(path: str, parent: str) -> bool:
    """True when ``path`` is ``parent`` or beneath it (both already real paths)."""
    if path == parent:
        return True
    return path.startswith(parent if parent.endswith("/") else parent + "/")


def _candidate_roots() -> set[str]:
    names = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    names += [sys.executable, getattr(sys, "_base_executable", "")]
    # "" stands for the working directory, which may be anything (a home, a repository): not allowed.
    names += [p for p in sys.path if isinstance(p, str) and p]
    names += list(_SYSTEM_DIRS)
    return {os.path.realpath(n) for n in names if n and os.path.exists(n)}


def _plan(exclude: Iterable[PathArg]) -> tuple[list[Path], list[Path]]:
    """Split the candidate roots around the excluded paths: (read roots, split directories)."""
    excluded = {os.path.realpath(os.fspath(x)) for x in exclude}
    allowed: set[str] = set()
    split: set[str] = set()
    pending = sorted(_candidate_roots())
    seen: set[str] = set()
    while pending:
        root = pending.pop()
        if root in seen or any(_within(root, x) for x in excluded):
            continue
        seen.add(root)
        if not any(_within(x, root) for x in excluded):
            allowed.add(root)
            continue
        split.add(root)
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            child = os.path.join(root, name)
            # A symlink's target is not beneath this root, so a rule on the root would not cover it either.
            if not os.path.islink(child):
                pending.append(child)
    return _outermost(allowed), sorted(Path(p) for p in split)


def _outermost(paths: Iterable[str]) -> list[Path]:
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(_within(path, k) for k in kept):
            kept.append(path)
    return [Path(p) for p in kept]


def python_read_roots(exclude: Iterable[PathArg] = ()) -> list[Path]:
    """What Python, installed packages and torch need to read, with holes at ``exclude``.

    Starts from the interpreter's prefixes and executable, every existing
    ``sys.path`` entry (except "", the working directory) and the usual system
    folders (/usr, /lib*, /etc, /proc, /sys, /dev, /opt). A root that is or lies
    inside an excluded path is dropped; a root that contains one is replaced by
    its children, recursively, so the excluded path gets no rule. Returns sorted
    real paths, none inside another.
    """
    return _plan(exclude)[0]


def python_listable_dirs(exclude: Iterable[PathArg] = ()) -> list[Path]:
    """The directories ``python_read_roots`` split to leave a hole, for ``confine(list_only=...)``.

    Python's import system lists each ``sys.path`` folder before it imports
    from it; a split folder (site-packages holding an excluded package) is not
    listable without this. Listing is inherited by the whole tree, so the names
    inside an excluded folder become visible, never the contents of its files.
    """
    return _plan(exclude)[1]


def _lower(limit: int, soft: int, hard: int | None = None) -> None:
    current_soft, current_hard = resource.getrlimit(limit)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    soft = min(soft, hard)
    resource.setrlimit(limit, (soft, hard))


def set_limits(
    memory_bytes: int | None = None,
    cpu_seconds: int | None = None,
    file_bytes: int | None = None,
    open_files: int | None = None,
) -> None:
    """Bound what runaway learner code can consume, and turn off core dumps.

    Each limit is set as both soft and hard limit, so the learner's code cannot
    raise it again; the CPU hard limit is 5 s above the soft one, so the
    process gets SIGXCPU before SIGKILL. A limit is never raised above the
    current hard limit; None leaves it untouched.
    """
    _lower(resource.RLIMIT_CORE, 0)
    if memory_bytes is not None:
        # RLIMIT_DATA counts what a process writes (heap, anonymous maps), not the address space
        # a CUDA build of torch reserves without using, which RLIMIT_AS would count against it.
        _lower(getattr(resource, "RLIMIT_DATA", resource.RLIMIT_AS), memory_bytes)
    if cpu_seconds is not None:
        _lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 5)
    if file_bytes is not None:
        _lower(resource.RLIMIT_FSIZE, file_bytes)
    if open_files is not None:
        _lower(resource.RLIMIT_NOFILE, open_files)
