"""Installation rules (placeholder until the rules issue lands: no rules applied)."""

from __future__ import annotations


def apply_rules(roofs, cfg):
    return roofs, [], {}
