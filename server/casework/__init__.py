"""Casework: families, cases and assignments, sealed client records, merging concurrent
edits, the reconciliation index, quarantine of refused work, and the daily expiry of
substitutes' assignments."""
