"""The sync gateway: one virtual CouchDB database per worker over many case databases.

- `heads.py`: what changed where (change counter per case, document → case index,
  visit days for prioritising the initial sync), written around every store write so
  that a crash between the two leaves no ghost (docs/adr/012-index-before-store.md);
- `repair.py`: settling the writes a killed process left in flight;
- `faults.py`: the kill hook of the crash tests;
- `feed.py`: the worker's `_changes` feed and its opaque `since` tokens;
- `tombstones.py`: purging a case from a device that lost access to it;
- `push.py`: checking documents a device pushes, one by one;
- `gateway.py`: the operations the `/sync/<db>` endpoints call.
See docs/PROTOCOL.md ("Sync") and docs/adr/009-sync-gateway.md.
"""
