"""GeneralMixtureModel on Dask collections: fit and predict where the partitions live.

``GeneralMixtureModel`` sends a ``dask.array.Array`` (chunked by rows) or a Dask DataFrame here
by itself; nothing in this module needs calling directly. Each EM iteration summarises every
partition under the current model where the partition lives (the Rust E-step, one thread per
task; on a distributed client, the rows persisted once at the start of the fit, each worker
summarises the partitions it holds on its threads, asked by one ``Client.run`` call, with tasks
as the fallback), merges the statistics in a fixed tree
(kilobytes per partition) and runs one M-step on the client; the fit loop, the stop rule and
the callbacks are those of an in-process fit (``_core.Mixture.fit_parts``). Predictions are
lazy Dask arrays, computed partition by partition.

Dask is an optional dependency (``pip install mixtura[dask]``): this module is imported only
once a Dask collection is seen, so that ``import mixtura`` never imports Dask.
"""

import sys
from typing import Optional

import dask
import dask.array as da
import numpy as np

from . import _checks, _core
from .distributions import encode_rows

__all__ = ["is_dask_collection"]

# Statistics are merged in groups of this many, left to right, level by level on the workers
# until at most this many are left, which the client merges: a fixed tree, so that the merged
# value does not depend on where or when the partitions were summarised.
_MERGE_EVERY = 8

# On a distributed client, the E-steps ask the scheduler where the partitions are at least once
# in this many.
_ASK_EVERY = 16

# On a distributed client, each worker summarises the partitions it holds in one ``Client.run``
# call (no tasks); False makes every E-step a round of tasks (the way taken anyway when a
# partition is not where it was, or a worker is lost).
_DIRECT = True


def is_dask_collection(X):
    """Whether ``X`` is a Dask collection (never imports Dask: a collection exists only once
    Dask has been imported)."""
    mod = sys.modules.get("dask")
    return mod is not None and bool(mod.is_dask_collection(X))


# -- the data ------------------------------------------------------------------------------------
def _rows(X, name="X"):
    """A Dask collection of rows as a Dask array whose chunks hold whole rows (one chunk of
    columns)."""
    if hasattr(X, "to_dask_array"):  # a Dask DataFrame or Series
        X = X.to_dask_array()
    if not isinstance(X, da.Array):
        raise TypeError(f"{name} must be a dask.array.Array or a Dask DataFrame, got {type(X).__name__}")
    if X.ndim == 2 and X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    if X.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got {X.ndim}-D")
    return X


def _blocks(X):
    """The row partitions of a Dask array of rows, as Delayed objects."""
    return list(X.to_delayed().ravel())


def _weight_parts(weights, X):
    """The weights of the row partitions of ``X``: None, a Dask array with the partitions of
    ``X`` (from a Dask array or Series), or one numpy array per partition (from an array-like,
    when the partitions' sizes are known); checked as far as they can be without computing."""
    if weights is None:
        return None
    n = X.numblocks[0]
    if is_dask_collection(weights):
        w = _rows(weights, "weights")
        if w.ndim != 1:
            raise ValueError(f"weights must be 1-D, one weight per sample; got {w.ndim}-D")
        known = not any(np.isnan(c) for c in X.chunks[0] + w.chunks[0])
        if known and w.chunks[0] != X.chunks[0]:
            if sum(w.chunks[0]) != sum(X.chunks[0]):
                _core.check_weights_and_labels(int(sum(X.chunks[0])), np.ones(int(sum(w.chunks[0]))))
            w = w.rechunk((X.chunks[0],))
        if w.numblocks[0] != n:
            raise ValueError(
                f"weights must have the partitions of X ({n}), got {w.numblocks[0]}; give them the "
                "same chunks"
            )
        return w
    w = _checks.as_weights(weights)
    sizes = X.chunks[0]
    if any(np.isnan(c) for c in sizes):
        raise ValueError(
            "weights for X whose partition sizes are unknown must be a Dask collection with the "
            "partitions of X"
        )
    _core.check_weights_and_labels(int(sum(sizes)), w)
    return np.split(w, np.cumsum(sizes)[:-1])


def _weight_blocks(weights, X):
    """The weights of each row partition of ``X`` (see ``_weight_parts``), as Delayed objects
    (or None)."""
    w = _weight_parts(weights, X)
    if w is None:
        return [None] * X.numblocks[0]
    if isinstance(w, list):
        return [dask.delayed(part) for part in w]
    return _blocks(w)


def _codes(model):
    """The codes of the symbols of each discrete column of a model (None for numeric ones)."""
    return [None if keys is None else {k: i for i, k in enumerate(keys)} for keys in model._columns()]


# -- what runs on the workers --------------------------------------------------------------------
_MODELS: dict = {}


def _mixture(text):
    """The Rust mixture of a JSON document, kept for the next partitions of the same iteration."""
    core = _MODELS.get(text)
    if core is None:
        core = _core.Mixture.from_json(text)
        _MODELS.clear()
        _MODELS[text] = core
    return core


def _named(e, index):
    """``e`` again, of the same class, its message naming the partition."""
    try:
        out = type(e)(f"partition {index}: {e}")
    except Exception:
        return e
    return out


def _summarize_part(index, block, weights, text, codes, d):
    """The statistics of one partition under the model of ``text`` (None when it is empty)."""
    try:
        Xm = encode_rows(block, d, codes, float32=True)
        w = _checks.as_weights(weights)
        if len(Xm) == 0:
            if w is not None and len(w) != 0:
                _core.check_weights_and_labels(0, w)
            return None
        return _mixture(text).summarize_part(Xm, w, 1)
    except (ValueError, TypeError) as e:
        raise _named(e, index) from None


def _summarize_group(indices, blocks, weights, text, codes, d):
    """The worker this runs on, and the statistics of several partitions in their order (a
    list)."""
    from distributed import get_worker

    out = [_summarize_part(i, b, w, text, codes, d) for i, b, w in zip(indices, blocks, weights)]
    return get_worker().address, out


async def _summarize_held(plans, text, codes, d, dask_worker=None):
    """Run by ``Client.run`` on a worker: the statistics of the partitions this worker holds in
    its memory (``plans[address]``: ``(index, rows key, weights key or None)`` each), on the
    worker's threads (the event loop only looks the partitions up, which may read a spilled
    one back from disk). ``("ok", [(index, statistics), ...])``,
    ``("error", exception)`` for a bad partition, or ``("missing",)`` when a partition is not
    here (moved, or lost): the client then summarises with tasks."""
    import asyncio

    plan = plans.get(dask_worker.address)
    data = dask_worker.data
    try:
        items = [(i, data[b], None if w is None else data[w]) for i, b, w in plan or ()]
    except KeyError:
        items = None
    if not plan or items is None:
        return ("missing",)
    threads = max(1, int(getattr(dask_worker, "nthreads", 1)))
    executor = getattr(dask_worker, "executors", {}).get("default")

    def run(group):
        return [(i, _summarize_part(i, b, w, text, codes, d)) for i, b, w in group]

    loop = asyncio.get_running_loop()
    groups = [g for g in (items[t::threads] for t in range(threads)) if g]
    outs = await asyncio.gather(*(loop.run_in_executor(executor, run, g) for g in groups),
                                return_exceptions=True)
    errors = [e for e in outs if isinstance(e, BaseException)]
    bad = [e for e in errors if isinstance(e, (ValueError, TypeError))]
    if bad:
        # A bad partition: the lowest one of this worker (the client picks the lowest of all).
        return ("error", min(bad, key=_partition_of))
    if errors:
        raise errors[0]
    return ("ok", [pair for out in outs if not isinstance(out, BaseException) for pair in out])


def _merge(*summaries):
    """The statistics of several partitions merged left to right (a new value: the inputs are
    left as they are, as a retried task needs them)."""
    out = None
    for s in summaries:
        if s is None:
            continue
        if out is None:
            out = _core.MixtureSummary.from_bytes(s.to_bytes())
        else:
            out.merge(s)
    return out


def _rows_of(index, block, text, codes, d, method, k=None):
    try:
        Xm = encode_rows(block, d, codes, float32=True)
        if len(Xm) == 0:
            return np.empty((0,) if k is None else (0, k),
                            dtype=np.int32 if method == "predict" else np.float64)
        return getattr(_mixture(text), method)(Xm, 1)
    except (ValueError, TypeError) as e:
        raise _named(e, index) from None


def _predict_block(block, text, codes, d, method, k=None, block_id=None):
    index = block_id[0] if block_id is not None else "?"
    return _rows_of(index, block, text, codes, d, method, k)


# -- what runs on the client ---------------------------------------------------------------------
def _client(client):
    """``client``, else the current Dask distributed client, else None (Dask's default
    scheduler)."""
    if client is None and "distributed" in sys.modules:
        from distributed import default_client

        try:
            client = default_client()
        except ValueError:
            client = None
    return client


def _gather(futures, client):
    """The values of ``futures``; a KeyboardInterrupt (or any failure) cancels the work on the
    cluster."""
    try:
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


def _compute(value, client):
    """Computes a Delayed value (or a list of them) on ``client`` (else the current Dask
    client, else Dask's default scheduler); a KeyboardInterrupt cancels the work on the
    cluster."""
    client = _client(client)
    # The graphs are a few tasks over partitions that exist already: nothing to optimise.
    if client is None:
        (out,) = dask.compute(value, optimize_graph=False)
        return out
    return _gather(client.compute(value, optimize_graph=False), client)


def _tree(parts):
    """The Delayed statistics ``parts`` merged on the cluster in a fixed tree, groups of
    ``_MERGE_EVERY`` left to right, up to at most ``_MERGE_EVERY`` values (the root's children,
    which the client merges: one hop fewer)."""
    merge = dask.delayed(_merge, pure=False)
    while len(parts) > _MERGE_EVERY:
        parts = [merge(*parts[i:i + _MERGE_EVERY]) for i in range(0, len(parts), _MERGE_EVERY)]
    return parts


def _merge_tree(summaries):
    """The statistics ``summaries`` (in partition order) merged in the tree of ``_tree``: the
    same merges in the same order, so the same bits, wherever they run."""
    while len(summaries) > _MERGE_EVERY:
        summaries = [_merge(*summaries[i:i + _MERGE_EVERY])
                     for i in range(0, len(summaries), _MERGE_EVERY)]
    return _merge(*summaries)


class _Partitions:
    """A Dask data set of rows (and weights) for a model's E-steps.

    For a fit on a distributed client (``persist``), the rows are persisted once (a no-op for
    rows that are already) and in each E-step every worker summarises the partitions it holds
    (see ``_placement``), on its threads: one ``Client.run`` call for all (``_summarize_held``),
    or, when a partition is not where it was or a worker is lost, one task per worker thread.
    No graph is built, no partition moves, and the client merges the statistics of the
    partitions in the fixed tree of ``_tree`` (the same bits either way). Otherwise
    (a single pass, or Dask's default scheduler), each E-step is a graph of one task per
    partition."""

    def __init__(self, model, X, weights, client=None, persist=False):
        if not model._core_model().statistics_are_values():
            raise TypeError("a model with distributions written in Python cannot be fitted on Dask "
                            "data; compute the data, or use the built-in distributions")
        self.X = _rows(X)
        self.codes = _codes(model)
        self.d = model.d
        self.client = _client(client)
        self._threads: dict = {}
        self._where: Optional[dict] = None
        self._steps = -1
        self._tasks_until = 0
        if self.client is None or not persist:
            self.blocks = _blocks(self.X)
            self.weights = _weight_blocks(weights, self.X)
            self.client = None
            self._graph_client = client
            return
        from distributed import Future, wait

        w = _weight_parts(weights, self.X)
        # The rows (and weights on the cluster) are computed once, where Dask puts them, and
        # kept there for the whole fit.
        if w is None or isinstance(w, list):
            self.X = self.client.persist(self.X, optimize_graph=False)
        else:
            self.X, w = self.client.persist([self.X, w], optimize_graph=False)
        self.blocks = [Future(k, self.client) for k in dask.core.flatten(self.X.__dask_keys__())]
        try:
            wait(self.blocks)
        except BaseException:
            self.client.cancel(self.blocks)
            raise
        if w is None:
            self.weights = [None] * len(self.blocks)
        elif isinstance(w, list):
            # Weights in memory: sent once, each to the worker of its partition (as tasks, not
            # scattered, so that a lost worker's are made again elsewhere).
            self.weights = [None] * len(self.blocks)
            for worker, parts in self._by_worker(range(len(self.blocks))).items():
                sent = self.client.map(_same, [w[i] for i in parts], pure=False,
                                       workers=None if worker is None else [worker],
                                       allow_other_workers=True)
                for i, f in zip(parts, sent):
                    self.weights[i] = f
        else:
            self.weights = [Future(k, self.client) for k in dask.core.flatten(w.__dask_keys__())]
        sent = [f for f in self.weights if f is not None]
        if sent:
            # In place before the first E-step, so that each worker finds its partitions'
            # weights beside them.
            try:
                wait(sent)
            except BaseException:
                self.client.cancel(sent)
                raise

    def _by_worker(self, parts):
        """The partitions ``parts`` by the worker that holds them (None for a partition that
        none holds now: being computed again), in their order."""
        holders = self.client.who_has([self.blocks[i] for i in parts])
        out: dict = {}
        for i in parts:
            where = holders.get(self.blocks[i].key) or [None]
            out.setdefault(min(where, key=str), []).append(i)
        return out

    def _placement(self, parts):
        """``_by_worker(parts)``, from where the partitions were last seen: the scheduler is
        asked again when a task ran elsewhere than planned, when a partition was nowhere, and
        every ``_ASK_EVERY`` E-steps."""
        self._steps += 1
        if self._where is None or self._steps % _ASK_EVERY == 0:
            every = range(len(self.blocks))
            self._where = {i: w for w, ps in self._by_worker(every).items() for i in ps}
        out: dict = {}
        for i in parts:
            out.setdefault(self._where[i], []).append(i)
        if None in self._where.values():
            self._where = None
        return out

    def _thread_counts(self, workers):
        if any(w not in self._threads for w in workers):
            info = self.client.scheduler_info()["workers"]
            self._threads = {w: max(1, int(v.get("nthreads", 1))) for w, v in info.items()}
        return [self._threads.get(w, 1) for w in workers]

    def summarize(self, core, parts):
        """The merged statistics of the partitions ``parts`` under the Rust mixture ``core``."""
        text = core.to_json(None, ",", ":")
        parts = list(parts)
        if self.client is None:
            part = dask.delayed(_summarize_part, pure=False)
            tasks = [part(i, self.blocks[i], self.weights[i], text, self.codes, self.d)
                     for i in parts]
            return _merge(*_compute(_tree(tasks), self._graph_client))
        by_worker = self._placement(parts)
        if _DIRECT and self._steps >= self._tasks_until and None not in by_worker:
            values = self._summarize_held(by_worker, text)
            if values is not None:
                return _merge_tree([values[i] for i in parts])
            # Something was not where it was (rows, or weights placed elsewhere): tasks for the
            # next E-steps, and the scheduler asked again.
            self._where = None
            self._tasks_until = self._steps + _ASK_EVERY
        # Tasks: the partitions of each worker, in turns over its threads, one task each.
        groups: list = []
        planned = []
        workers = list(by_worker)
        for w, n in zip(workers, self._thread_counts(workers)):
            mine = by_worker[w]
            for g in (mine[t::n] for t in range(n)):
                if g:
                    groups.append(g)
                    planned.append(w)
        # One call, so one message to the scheduler (the client batches its messages: a second
        # call made just after a first would wait for the next batch).
        futures = self.client.map(
            _summarize_group, groups, [[self.blocks[i] for i in g] for g in groups],
            [[self.weights[i] for i in g] for g in groups], text=text, codes=self.codes,
            d=self.d, pure=False)
        values = dict(zip(parts, [None] * len(parts)))
        for g, w, (ran_on, out) in zip(groups, planned, _gather(futures, self.client)):
            if ran_on != w:
                self._where = None  # the partitions have moved: ask again next time
            values.update(zip(g, out))
        return _merge_tree([values[i] for i in parts])


    def _summarize_held(self, by_worker, text):
        """The statistics of the partitions ``by_worker`` (by index), each worker summarising
        those it holds in one ``Client.run`` call: a round trip of a few milliseconds, where a
        round of tasks takes ten or more (the scheduler's task bookkeeping). None when a
        partition is not where it was or the call fails (a lost worker): the caller then
        summarises with tasks, and Dask computes lost partitions again. A bad partition raises
        its error (the first in partition order)."""
        plans = {w: [(i, self.blocks[i].key,
                      None if self.weights[i] is None else self.weights[i].key) for i in ps]
                 for w, ps in by_worker.items()}
        try:
            replies = self.client.run(_summarize_held, plans, text, self.codes, self.d,
                                      workers=list(plans))
        except Exception:
            return None
        values: dict = {}
        errors = []
        for w in plans:
            reply = replies.get(w, ("missing",))
            if reply[0] == "missing":
                return None
            if reply[0] == "error":
                errors.append(reply[1])
            else:
                values.update(reply[1])
        if errors:
            raise min(errors, key=lambda e: _partition_of(e))
        return values


def _partition_of(e):
    """The partition an error of ``_summarize_part`` names (its message starts "partition i:")."""
    try:
        return int(str(e).split(":", 1)[0].split()[-1])
    except (ValueError, IndexError):
        return sys.maxsize


def fit(model, X, weights, options, callbacks, return_history, verbose, client):
    """``model.fit`` on Dask data."""
    data = _Partitions(model, X, weights, client, persist=True)
    return model._train(
        lambda core, training: core.fit_parts(
            lambda current, parts: data.summarize(current, parts), len(data.blocks),
            options=options, callback=training.on_epoch, pass_model=training.pass_model),
        callbacks, return_history, verbose)


def summarize(model, X, weights, client):
    """The statistics of Dask data under ``model``, as one ``_core.MixtureSummary``."""
    data = _Partitions(model, X, weights, client)
    summary = data.summarize(model._core_model(), range(len(data.blocks)))
    if summary is None:
        raise _core.MixturaError("invalid X: must have at least one row")
    return summary


def first_partition(X, weights, client):
    """The first partition with rows, and its weights, as numpy arrays (k-means initialises
    on it, as pomegranate initialises on the first batch)."""
    X = _rows(X)
    blocks = _blocks(X)
    weight_blocks = _weight_blocks(weights, X)
    for b, w in zip(blocks, weight_blocks):
        Xb, wb = _compute(dask.delayed(_pair)(b, w), client)
        if len(Xb) > 0:
            return np.asarray(Xb), None if wb is None else np.asarray(wb)
    raise _core.MixturaError("invalid X: must have at least one row")


def rows_map(model, X, method, k=None):
    """A lazy Dask array of ``method`` (a ``_core.Mixture`` method over rows) on each
    partition: one value per row, or ``k`` when given."""
    X = _rows(X)
    text = model._core_model().to_json(None, ",", ":")
    kw = dict(text=text, codes=_codes(model), d=model.d, method=method, k=k)
    dtype = np.int32 if method == "predict" else np.float64
    if k is None:
        if X.ndim == 2:
            return X.map_blocks(_predict_block, dtype=dtype, drop_axis=1, **kw)
        return X.map_blocks(_predict_block, dtype=dtype, **kw)
    chunks = (X.chunks[0], (k,))
    if X.ndim == 2:
        return X.map_blocks(_predict_block, dtype=dtype, chunks=chunks, **kw)
    return X.map_blocks(_predict_block, dtype=dtype, chunks=chunks, new_axis=1, **kw)


def score(model, X, y, client):
    """The accuracy of ``predict(X)`` against the labels ``y`` (computed): partition by
    partition for Dask labels, else against the labels in memory, as in-process."""
    pred = rows_map(model, X, "predict")
    if not is_dask_collection(y):
        labels = np.asarray(y)
        pred = np.asarray(_compute(pred, client))
        if labels.shape != pred.shape:
            raise ValueError(
                f"y must have one label per sample ({pred.shape[0]}), got shape {labels.shape}")
        return float(np.mean(pred == labels))
    y = _rows(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must have one label per sample, got {y.ndim}-D")
    if y.numblocks[0] != pred.numblocks[0]:
        raise ValueError("y must have the partitions of X")
    hits = dask.delayed(_hits, pure=True)
    totals = [hits(i, p, t) for i, (p, t) in enumerate(zip(_blocks(pred), _blocks(y)))]
    right, n = _compute(dask.delayed(_sum_pairs, pure=True)(*totals), client)
    return right / n


def _hits(index, pred, y):
    """The number of right labels of a partition, and its rows."""
    if len(pred) != len(y):
        raise ValueError(f"partition {index}: y must have one label per sample ({len(pred)}), "
                         f"got {len(y)}")
    return float(np.sum(pred == y)), len(pred)


def _sum_pairs(*pairs):
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def _pair(x, w):
    return x, w


def _same(x):
    return x
