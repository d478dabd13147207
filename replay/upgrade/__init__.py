"""Upgrade checks: a spec diff (``contracts.specdiff``) joined with recorded traffic (``traffic``), our
overlay and a replay against a candidate, in one report (``report``) printed by ``render``; ``check``
does the work, ``command`` holds the ``diff`` and ``upgrade-check`` commands."""
