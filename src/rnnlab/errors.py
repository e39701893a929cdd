"""Exceptions raised by rnnlab.

Every error a user can trigger with bad input is an :class:`RnnlabError` (or a subclass),
raised *before* any work starts, with a message that names what was expected.
"""
from __future__ import annotations


class RnnlabError(Exception):
    """Base class of every error rnnlab raises on purpose."""


class InputError(RnnlabError, ValueError):
    """Data or arguments of the wrong shape, dtype, range or content."""


class ModelFileError(RnnlabError, OSError):
    """A model file or folder that is missing, truncated, tampered with or of another format."""


class TrainingError(RnnlabError, FloatingPointError):
    """Training went wrong in a way the user must act on (e.g. a non-finite loss)."""


class DataNotFoundError(RnnlabError, FileNotFoundError):
    """A data set could not be found locally and could not be downloaded."""


class CheckpointError(ModelFileError):
    """A training checkpoint that is missing, truncated, tampered with or does not fit the model."""


class FolderInUseError(RnnlabError, OSError):
    """Another live process holds the folder's lock (a run folder or a checkpoint folder)."""


class TrainingInterrupted(RnnlabError):
    """Training stopped at a batch boundary on SIGINT (Ctrl-C) or SIGTERM, after writing a checkpoint.

    ``exit_code`` is what a command line should exit with (130 for SIGINT, 143 for SIGTERM);
    ``checkpoint`` is the checkpoint file written (None when ``fit`` had no ``checkpoint_dir``).
    """

    def __init__(self, message: str, *, signal_name: str, exit_code: int, checkpoint=None) -> None:
        super().__init__(message)
        self.signal_name, self.exit_code, self.checkpoint = signal_name, exit_code, checkpoint
