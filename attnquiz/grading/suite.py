"""What a hidden suite sees, inside the judge: the pytest plugin and the `h` helpers.

Every hidden test takes `sol` (a proxy to the learner's module in the sandboxed worker,
parametrized over the candidates of this run), `ref` (the reference module, here in the judge)
and `h` (comparisons in float64 with per-dtype tolerances, and the requests a plain call cannot
express: gradients, forward hooks, isinstance). Results stream to the report as soon as they are
known, so a grading stopped at its time limit still tells which checks finished. A failed check
carries its case (`h.case`: the inputs, where the comparison is worst, the weights to draw), so
the learner sees the smallest failing input rather than only a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
import torch

from attnquiz.grading import meter, streams
from attnquiz.grading.proxy import Remote, RemoteError, WorkerGone, client_of, ref_of
from attnquiz.grading.records import STATE, message_of
from attnquiz.i18n import Text


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sol" in metafunc.fixturenames:
        cands = [c for c in STATE.candidates.values() if c.module is not None]
        metafunc.parametrize("sol", [c.module for c in cands], ids=[c.id for c in cands])


@pytest.fixture
def ref() -> Any:
    return STATE.reference


@pytest.fixture
def h() -> "Helpers":
    return Helpers()


def _ids(item: pytest.Item) -> tuple[str, str]:
    cid = item.callspec.id if hasattr(item, "callspec") else "c?"
    name = getattr(item, "originalname", item.name)
    return cid, name[5:] if name.startswith("test_") else name


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    cid = nodeid.rsplit("[", 1)[-1].rstrip("]") if "[" in nodeid else "c?"
    name = nodeid.split("::")[-1].split("[")[0]
    assert STATE.reporter is not None
    if STATE.client is not None:
        STATE.client.current = cid
    STATE.reporter.write(kind="start", cand=cid, check=name[5:] if name.startswith("test_") else name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    cid, name = _ids(item)
    if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
        if call.excinfo is None:
            status, message = "passed", ""
        else:
            exc = call.excinfo.value
            gone = isinstance(exc, WorkerGone)
            status = "timeout" if gone and exc.timed_out else "error" if gone else "failed"
            if call.when == "setup":
                status = "error"
            message = message_of(exc)
            STATE.candidates[cid].failed = True
            STATE.candidates[cid].failed_checks.append(name)
        extra = {}
        if status == "failed":
            case = case_record(getattr(item, "funcargs", {}).get("h"), call.excinfo.value)
            extra = {"case": case} if case else {}
        assert STATE.reporter is not None
        STATE.reporter.write(kind="check", cand=cid, check=name, status=status, message=message, **extra)
    return report


class Mismatch(AssertionError):
    """A failed comparison of `h`, with where it is worst: the case block of the check shows it.
    Its message is an i18n Text: English in the report and --json, shown in the learner's
    language by the CLI (WHAT labels stay as the suite wrote them)."""

    def __init__(self, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.detail = detail


def _fail(key: str, detail: Optional[dict[str, Any]] = None, **args: Any) -> AssertionError:
    """A failure whose message is an i18n Text; a Mismatch when DETAIL says where it is worst."""
    return Mismatch(Text(key, **args), detail) if detail is not None else AssertionError(Text(key, **args))


class Helpers:
    """The `h` fixture: comparisons against the float64 reference, and worker requests."""

    TOLERANCES = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5), "bfloat16": (3e-2, 3e-2), "float16": (1e-2, 1e-3)}

    def __init__(self) -> None:
        self.current: Optional[dict[str, Any]] = None

    def case(self, weights: Optional[tuple[Any, Any]] = None, **inputs: Any) -> None:
        """Name the case the next calls check: its INPUTS (tensors show as shape and dtype, small
        values as they are) and, for attention, WEIGHTS = (the learner's, the reference's) to draw
        side by side. A failure from here on shows this case under the check's ✗ line, so call it
        again for each case of a loop, smallest case first (the first failing one is shown)."""
        self.current = {"inputs": inputs, "weights": weights}

    def tensor(self, actual: Any, what: str) -> torch.Tensor:
        if not isinstance(actual, torch.Tensor):
            kind = actual.remote_type if isinstance(actual, Remote) else type(actual).__name__
            raise _fail("not_a_tensor", what=what, kind=kind)
        return actual

    def close(self, actual: Any, expected: torch.Tensor, what: str, dtype: Any = None, against: str = "the reference") -> None:
        """Same shape, (dtype,) no NaN, and close to EXPECTED within the dtype's tolerance; AGAINST
        names what EXPECTED is in the message (a property check compares with something else)."""
        actual = self.tensor(actual, what)
        detail = {"what": what[:200], "shape": list(expected.shape), "dtype": _dtype(actual), "against": against[:60]}
        if tuple(actual.shape) != tuple(expected.shape):
            detail["got_shape"] = list(actual.shape)
            raise _fail("wrong_shape", detail, what=what, got=str(tuple(actual.shape)), expected=str(tuple(expected.shape)))
        if dtype is not None and actual.dtype != dtype:
            detail["expected_dtype"] = _dtype(torch.empty(0, dtype=dtype))
            raise _fail("wrong_dtype_keep", detail, what=what, got=str(actual.dtype), expected=str(dtype))
        against = Text("the_reference") if against == "the reference" else against
        a = actual.detach().to(torch.float64)
        e = expected.detach().to(torch.float64)
        nan = torch.isnan(a) & ~torch.isnan(e)
        if bool(nan.any()):
            idx = tuple(int(i) for i in nan.nonzero()[0])
            detail.update(index=list(idx), got=_number(a[idx]), expected=_number(e[idx]))
            raise _fail("nan_at", detail, what=what, index=str(idx), against=against)
        rtol, atol = self.TOLERANCES.get(str(actual.dtype).replace("torch.", ""), (1e-4, 1e-5))
        if not torch.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
            same = (a == e) | (torch.isnan(a) & torch.isnan(e))  # equal infinities differ by nothing
            diff = torch.where(same, torch.zeros_like(a), (a - e).abs()).nan_to_num(nan=float("inf"), posinf=float("inf"))
            flat = int(diff.argmax())
            idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), diff.shape))
            detail.update(index=list(idx), got=_number(a[idx]), expected=_number(e[idx]))
            raise _fail(
                "differs_by", detail, what=what, against=against, diff=f"{float(diff.max()):.3g}", index=str(idx),
                got=f"{float(a[idx]):.4g}", expected=f"{float(e[idx]):.4g}",
            )  # fmt: skip

    def equal(self, actual: Any, expected: torch.Tensor, what: str) -> None:
        """Exactly equal integer tensors (token ids)."""
        actual = self.tensor(actual, what)
        detail = {"what": what[:200], "shape": list(expected.shape), "dtype": _dtype(actual), "against": "the reference"}
        if tuple(actual.shape) != tuple(expected.shape):
            detail["got_shape"] = list(actual.shape)
            raise _fail("wrong_shape", detail, what=what, got=str(tuple(actual.shape)), expected=str(tuple(expected.shape)))
        if actual.dtype != expected.dtype:
            detail["expected_dtype"] = _dtype(expected)
            raise _fail("wrong_dtype", detail, what=what, got=str(actual.dtype), expected=str(expected.dtype))
        diff = (actual != expected).nonzero()
        if len(diff):
            idx = tuple(int(i) for i in diff[0])
            detail.update(index=list(idx), got=int(actual[idx]), expected=int(expected[idx]))
            raise _fail("differs_at", detail, what=what, index=str(idx), got=str(int(actual[idx])), expected=str(int(expected[idx])))

    # --- requests a plain call cannot express -------------------------------------------------

    def grad(self, fn: Remote, *args: Any, upstream: Any, wrt: tuple[int, ...] = (), params: Optional[Remote] = None, **kwargs: Any) -> "Grads":
        """Call FN(*args) in the worker with gradients on the args at WRT, backward with UPSTREAM
        (a tensor, or one per output, None to skip one); gradients of PARAMS' parameters too."""
        client = client_of(fn)
        extra = {"params": ref_of(params)} if params is not None else {}
        out = client.request("grad", obj=ref_of(fn), args=list(args), kwargs=kwargs, wrt=list(wrt), upstream=upstream, **extra)
        if not isinstance(out, dict):
            raise _fail("grad_malformed")
        return Grads(
            out.get("output"), list(out.get("tracked") or []), list(out.get("inputs") or []),
            dict((k, v) for k, v in out.get("params") or []), [str(f) for f in out.get("grad_fns") or []],
        )  # fmt: skip

    def call_keeping_args(self, fn: Remote, *args: Any, **kwargs: Any) -> tuple[Any, list[Any]]:
        """FN(*args) and the arguments as the learner's code left them (in-place changes show)."""
        out = client_of(fn).request("call", obj=ref_of(fn), args=list(args), kwargs=kwargs, return_args=True)
        if not isinstance(out, dict) or not isinstance(out.get("args"), list):
            raise _fail("answer_malformed")
        return out.get("value"), out["args"]

    def content(self, name: str) -> Any:
        """A grader-owned file of this kata's folder: its Path (read it, or torch.load weights)."""
        return STATE.kata_dir / name

    def define(self, sol: Remote, name: str) -> Remote:
        """The kata folder's NAME (a .py the contract provides, e.g. a model class) run as a module
        in SOL's worker: objects built from it are the grader's code, not the learner's."""
        source = (STATE.kata_dir / name).read_text(encoding="utf-8")
        return client_of(sol).request("define", name=name.removesuffix(".py"), source=source)

    def stream(self, seed: int, lead: tuple[int, ...], sizes: list[int], **options: Any) -> "Stream":
        """A once-read iterable of chunks for `measure` (built as a generator in the worker);
        `.chunks()` gives the same tensors here. Options: scale, drift, neg_inf, dtype."""
        return Stream(streams.describe(seed, tuple(lead), list(sizes), **options))

    def measure(self, fn: Remote, *args: Any, **kwargs: Any) -> "Measured":
        """FN(*args) in the worker, with its peak extra memory and CPU time read by the judge from
        the kernel (see meter.py). Arguments are sent and the result fetched outside the measured
        span; a Stream argument arrives as a generator."""
        client = client_of(fn)
        staged = [None if isinstance(a, Stream) else a for a in args]
        specs = {str(i): a.spec for i, a in enumerate(args) if isinstance(a, Stream)}
        handle = client.request("stage", obj=ref_of(fn), args=staged, kwargs=kwargs, streams=specs)
        with meter.Meter(client.proc.pid) as m:
            client.request("run", id=handle)
        value = client.request("take", id=handle)
        if m.usage is None:
            raise _fail("not_measured")
        u = m.usage
        return Measured(value, u.peak_extra, u.cpu_seconds, u.exact, u.new_processes)

    def bounded(self, fn: Remote, *args: Any, limit_mib: float, what: str, naive: str = "", **kwargs: Any) -> Any:
        """`measure` FN(*args) and fail unless its peak extra memory stays within LIMIT_MIB; the
        message names WHAT was called, the memory used and the bound (and NAIVE: what a naive
        algorithm would need). Returns the call's value, for the caller to check."""
        limit = f"{limit_mib:g}"
        bound = Text("bound_naive", limit=limit, naive=naive) if naive else Text("bound", limit=limit)
        try:
            m = self.measure(fn, *args, **kwargs)
        except RemoteError as exc:
            text = str(exc)
            if exc.remote_type == "MemoryError" or "alloc" in text.lower() or "memory" in text.lower():
                raise _fail("bound_out_of_memory", what=what, bound=bound) from None
            raise
        if m.new_processes:
            raise _fail("bound_new_process", what=what, bound=bound)
        if m.peak_extra > limit_mib * (1 << 20):
            how = "" if m.exact else Text("sampled")
            raise _fail("bound_used", what=what, used=meter.mib(m.peak_extra), how=how, bound=bound)
        return m.value

    def watch(self, module: Remote) -> "Watch":
        """Start recording whether each forward call of MODULE builds an autograd graph."""
        return Watch(module, int(client_of(module).request("watch", obj=ref_of(module))))

    def isinstance(self, obj: Any, dotted: str) -> bool:
        """isinstance in the worker against a torch class named like `torch.nn.Linear`."""
        if not isinstance(obj, Remote):
            return False
        return client_of(obj).request("isinstance", obj=ref_of(obj), cls=dotted) is True


# --- the case of a failed check -------------------------------------------------------------------

CASE_INPUTS = 8  # inputs named in a case block
HEAT_SIDE = 12  # the drawn weights are at most HEAT_SIDE x HEAT_SIDE


def case_record(helpers: Any, exc: BaseException) -> Optional[dict[str, Any]]:
    """What the report says about a failed check's case (bounded, plain data): the inputs the suite
    named with `h.case`, where the failed comparison is worst, and the two weight matrices to draw.
    None when there is nothing to say; never raises (the report must be written)."""
    try:
        record: dict[str, Any] = {}
        current = helpers.current if isinstance(helpers, Helpers) else None
        if current:
            record["inputs"] = [_describe(str(n)[:40], v) for n, v in list(current["inputs"].items())[:CASE_INPUTS]]
            weights = current.get("weights")
            if isinstance(weights, tuple) and len(weights) == 2:
                heat = _heat(*weights)
                if heat:
                    record["weights"] = heat
        if isinstance(exc, Mismatch):
            record.update(exc.detail)
        return record or None
    except Exception:  # noqa: BLE001 - a case is a courtesy; the verdict stands without it
        return None


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def _number(x: Any) -> Any:
    """A float for JSON: finite ones as they are (4 significant digits), others by name."""
    value = float(x)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return float(f"{value:.4g}")


def _describe(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, torch.Tensor):
        return {"name": name, "shape": list(value.shape), "dtype": _dtype(value)}
    if isinstance(value, Remote):
        return {"name": name, "value": value.remote_type[:60]}
    if value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 60):
        return {"name": name, "value": repr(value)}
    return {"name": name, "value": type(value).__name__[:60]}


def _heat(got: Any, expected: Any) -> Optional[dict[str, Any]]:
    """One (query x key) slice of each weight tensor, at most HEAT_SIDE square: the slice and window
    where the two differ most when their shapes agree, else the first slice's top-left corner."""
    if not (isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor) and got.dim() >= 2 and expected.dim() >= 2):
        return None
    g, e = got.detach().to(torch.float64), expected.detach().to(torch.float64)
    if g.shape == e.shape and g.numel():
        diff = (g - e).abs().nan_to_num(nan=float("inf"), posinf=float("inf"))
        worst = [int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)]
        at_g = at_e = worst
    else:
        at_g, at_e = [0] * g.dim(), [0] * e.dim()
    return {"yours": _window(g, at_g), "reference": _window(e, at_e)}


def _window(t: torch.Tensor, at: list[int]) -> dict[str, Any]:
    lead = tuple(at[:-2])
    m = t[lead] if lead else t
    rows, cols = m.shape
    r0 = max(0, min(at[-2] - HEAT_SIDE // 2, rows - HEAT_SIDE))
    c0 = max(0, min(at[-1] - HEAT_SIDE // 2, cols - HEAT_SIDE))
    block = m[r0 : r0 + HEAT_SIDE, c0 : c0 + HEAT_SIDE]
    values = [[float(f"{x:.3g}") if x == x and abs(x) != float("inf") else None for x in row] for row in block.tolist()]
    return {"at": list(lead), "rows": rows, "cols": cols, "row0": r0, "col0": c0, "values": values}


@dataclass
class Grads:
    output: Any
    tracked: list[bool]  # per upstream-carrying output: does it require grad?
    inputs: list[Any]  # gradient per `wrt` argument (None: none reaches it)
    params: dict[str, Any]  # parameter name -> gradient (None: none reaches it)
    grad_fns: list[str] = field(default_factory=list)  # per upstream-carrying output: its grad_fn's class name


@dataclass
class Stream:
    spec: dict[str, Any]

    def chunks(self) -> Any:
        return streams.chunks(self.spec, settle=False)


@dataclass
class Measured:
    value: Any
    peak_extra: int  # bytes above the worker's resident set when the call began
    cpu_seconds: float
    exact: bool  # the kernel's peak, not a sampled one
    new_processes: list[int]


@dataclass
class Watch:
    module: Remote
    id: int

    def seen(self) -> list[bool]:
        return list(client_of(self.module).request("watched", id=self.id) or [])
