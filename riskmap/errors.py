"""Public exception hierarchy.

Every error a user can cause by their input or configuration is a :class:`RiskmapError`; the
command line catches these at one boundary and prints a single line (exit code 2).
"""

from __future__ import annotations


class RiskmapError(Exception):
    """Base class of every error riskmap raises on purpose."""


class InputError(RiskmapError, ValueError):
    """A source file or argument is unreadable, incomplete or malformed."""


class ConfigError(RiskmapError, ValueError):
    """``riskmap.yaml`` or a catalogue file is invalid."""


class ProjectError(RiskmapError, FileNotFoundError):
    """The project folder, its store or a needed file does not exist."""


class StoreError(RiskmapError, RuntimeError):
    """The store lacks data a step needs (for example, no boundaries loaded yet)."""


class PrivacyError(RiskmapError, RuntimeError):
    """An output would disclose something the privacy rules forbid."""


class OfflineError(RiskmapError, ConnectionError):
    """A network source was asked for offline, or could not be reached, and nothing is cached."""
