"""One parser per published feed format; each is pure (bytes or parsed documents in, ``Advisory`` out).

``osv`` (every OSV ecosystem), ``rustsec``, ``rubysec``, ``friendsofphp``, ``alpine`` (secdb),
``debian`` (tracker JSON, DSA/DLA lists), ``wolfi`` (Wolfi/Chainguard advisories), ``oval``
(Azure Linux / CBL-Mariner), and the enrichment catalogues ``kev`` and ``epss``.
``vulndb.ingest`` recognises files and dispatches to them.
"""
