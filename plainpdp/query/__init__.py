"""Access queries: partial evaluation, residual translators, store-backed lists.

``Engine.plan`` (:mod:`.plan`) evaluates everything known about a request
except the resource and leaves a residual condition over it; the residual
becomes a Python predicate (:mod:`.python`), a parameterized SQL WHERE
clause (:mod:`.sql`) or a SQLAlchemy expression (:mod:`.sqlalchemy`).
``allowed_resources``, ``who_can`` and ``allowed_actions`` (:mod:`.queries`)
answer over the engine's entity store, pruned by the decision tree;
:mod:`.report` builds a partner's access review.
"""
