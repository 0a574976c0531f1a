"""Every hash-chained log of the site, in one list: what `sopu audit verify` walks and
`sopu audit anchor` records. A new chained log is one more line here."""

from __future__ import annotations

from . import access_log, audit, disclosure_log
from .hashchain import HashChain

CHAINS: tuple[HashChain, ...] = (
    audit.CHAIN,
    access_log.CHAIN,
    disclosure_log.CHAIN,
)
