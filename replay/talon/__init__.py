"""What the toolkit knows about *this* API, as data: which differences are noise and why
(:mod:`~replay.talon.noise`), which arrays are sets and what identifies their items
(:mod:`~replay.talon.arrays`), where generated identifiers flow and which ids a client chooses
(:mod:`~replay.talon.flows`), which recorded exchanges a replay must not send and which values are
personal data (:mod:`~replay.talon.policies`). The machinery that uses them (``replay.engine``,
``replay.recording``, ``replay.paths``) knows nothing of Talon.One; a new operation is a row here.
"""
