"""Training callbacks with pomegranate 0.14's hooks and log keys."""

import os
from typing import Any

__all__ = ["Callback", "History", "ModelCheckpoint", "CSVLogger", "LambdaCallback"]

_CSV_KEYS = (
    "epoch",
    "duration",
    "total_improvement",
    "improvement",
    "log_probability",
    "last_log_probability",
    "epoch_start_time",
    "epoch_end_time",
    "n_seen_batches",
    "learning_rate",
)


class Callback:
    """The base class: ``fit`` sets ``model`` and calls the hooks.

    ``on_epoch_end`` and ``on_training_end`` receive a dict with the keys ``epoch``,
    ``improvement``, ``total_improvement``, ``log_probability``, ``last_log_probability``,
    ``initial_log_probability``, ``epoch_start_time``, ``epoch_end_time``, ``duration``,
    ``n_seen_batches`` and ``learning_rate``.
    """

    def __init__(self):
        # The model being fitted, set by the fit.
        self.model: Any = None
        self.params = None

    def on_training_begin(self):
        """Called once before the first epoch."""

    def on_training_end(self, logs):
        """Called once after the last epoch."""

    def on_epoch_end(self, logs):
        """Called after every epoch."""


class History(Callback):
    """Records every epoch's log; ``fit(..., return_history=True)`` returns one."""

    def __init__(self):
        super().__init__()
        self.on_training_begin()

    def on_training_begin(self):
        self.total_improvement = []
        self.improvements = []
        self.log_probabilities = []
        self.epoch_start_times = []
        self.epoch_end_times = []
        self.epoch_durations = []
        self.epochs = []
        self.learning_rates = []
        self.n_seen_batches = []
        self.initial_log_probability = None

    def on_epoch_end(self, logs):
        self.total_improvement.append(logs["total_improvement"])
        self.improvements.append(logs["improvement"])
        self.log_probabilities.append(logs["log_probability"])
        self.epoch_start_times.append(logs["epoch_start_time"])
        self.epoch_end_times.append(logs["epoch_end_time"])
        self.epoch_durations.append(logs["duration"])
        self.epochs.append(logs["epoch"])
        self.learning_rates.append(logs["learning_rate"])
        self.n_seen_batches.append(logs["n_seen_batches"])
        self.initial_log_probability = logs["initial_log_probability"]

    def on_training_end(self, logs):
        if self.initial_log_probability is None:
            self.initial_log_probability = logs.get("initial_log_probability")


class ModelCheckpoint(Callback):
    """Writes the model as JSON after every epoch, to ``{name}.{epoch}.json``.

    Parameters
    ----------
    name : str, optional
        The file name prefix (may include a directory); the model's name when None.
        (pomegranate 0.14 ignored this argument.)
    verbose : bool, optional
        Print a line for every file written.
    """

    def __init__(self, name=None, verbose=True):
        super().__init__()
        self.name = name
        self.verbose = verbose

    def on_epoch_end(self, logs):
        prefix = self.name if self.name is not None else self.model.name
        path = f"{prefix}.{logs['epoch']}.json"
        if self.verbose:
            print(f"[{logs['epoch']}] Saving checkpoint to {path}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.model.to_json())


class CSVLogger(Callback):
    """Writes every epoch's log as a CSV row.

    Parameters
    ----------
    filename : str
    separator : str, optional
    append : bool, optional
        Append to the file (without a header) instead of starting it anew.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.file: Any = None

    def on_training_begin(self):
        if self.append:
            self.file = open(self.filename, "a", encoding="utf-8")
        else:
            self.file = open(self.filename, "w", encoding="utf-8")
            self.file.write(self.separator.join(_CSV_KEYS) + "\n")

    def on_epoch_end(self, logs):
        self.file.write(self.separator.join(str(logs[k]) for k in _CSV_KEYS) + "\n")
        self.file.flush()

    def on_training_end(self, logs):
        if self.file is not None:
            self.file.close()
            self.file = None


class LambdaCallback(Callback):
    """A callback from plain functions for any of the three hooks."""

    def __init__(self, on_training_begin=None, on_training_end=None, on_epoch_end=None):
        super().__init__()
        self._begin = on_training_begin
        self._end = on_training_end
        self._epoch = on_epoch_end

    def on_training_begin(self):
        if self._begin is not None:
            self._begin()

    def on_training_end(self, logs):
        if self._end is not None:
            self._end(logs)

    def on_epoch_end(self, logs):
        if self._epoch is not None:
            self._epoch(logs)
