"""The sync gateway: one virtual CouchDB database per worker over many case databases.

- `heads.py`: what changed where (change counter per case, document → case index,
  visit days for prioritising the initial sync);
- `feed.py`: the worker's `_changes` feed and its opaque `since` tokens;
- `tombstones.py`: purging a case from a device that lost access to it;
- `push.py`: checking documents a device pushes, one by one;
- `gateway.py`: the operations the `/sync/<db>` endpoints call.
See docs/PROTOCOL.md ("Sync") and docs/adr/009-sync-gateway.md.
"""
