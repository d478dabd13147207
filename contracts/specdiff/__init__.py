"""The spec diff: what changed between two contracts, judged from a client's side of the wire.

* :mod:`~contracts.specdiff.rules`: every kind of change, with its level and why (data);
* :mod:`~contracts.specdiff.model`: the changes, where they are in both documents and in traffic;
* :mod:`~contracts.specdiff.schemas` and :mod:`~contracts.specdiff.facets`: two schemas compared
  in one direction (:mod:`~contracts.specdiff.walking`: what the two share);
* :mod:`~contracts.specdiff.operations`: two contracts compared operation by operation;
* :mod:`~contracts.specdiff.sources`: where the documents come from (files, ``REV:path`` in git);
* :mod:`~contracts.specdiff.policy`: ignore files, severity overrides, the failing level.

It uses only the layers of ``contracts`` below it (documents, errors, http, model, schema, spec).
"""
