"""Policies to a decision index: folded, code-generated conditions in trees.

``compile_policies(policy_set)`` runs the passes of
:mod:`plainpdp.compile.passes`; :mod:`plainpdp.evaluate.indexed` decides
through the result. ``save_snapshot`` / ``load_snapshot`` keep it on disk,
``show_compiled`` prints it for people.
"""

from .passes import PASSES, CompiledPolicies, compile_policies
from .show import show_compiled
from .snapshot import SnapshotError, load_or_compile, load_snapshot, save_snapshot

__all__ = [
    "PASSES",
    "CompiledPolicies",
    "SnapshotError",
    "compile_policies",
    "load_or_compile",
    "load_snapshot",
    "save_snapshot",
    "show_compiled",
]
