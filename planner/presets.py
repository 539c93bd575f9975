"""Named, sourced market events a scenario can use by name instead of spelling them out.

Plain data (no schema types), so the schema can import it without a cycle.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

# NVIDIA successor launches: each steps down the price of every model launched before it.
# Dates are when volume shipments began (domain.md §3). Drops are assumptions bracketed by
# domain.md §4b: "values hold until the next architecture is widely available, then step down
# 20-30%" (GLRI via v2-pseo-ai.pages.dev [L]); in China an H100 server fell only ~10% after the
# H200 shipped (Huxiu via soramidjourney.com [S]), as export bans kept older stock scarce.
SUCCESSOR_LAUNCHES: tuple[dict[str, Any], ...] = (
    # domain.md §1/§3: H200 announced 2023-11-13, shipped Q2 2024 (aiwiki H200 [S]).
    {"name": "H200", "date": "2024-04-01", "drop": 0.10},
    # domain.md §1/§3: B200 announced 2024-03-18, hyperscaler shipments late 2024 (aiwiki B200 [S]).
    {"name": "B200", "date": "2024-10-01", "drop": 0.20},
    # domain.md §1/§3: B300 announced 2025-03-18, "ship H2 2025" (aiwiki Blackwell Ultra [S]).
    {"name": "B300", "date": "2025-07-01", "drop": 0.15},
    # domain.md §1/§3: Rubin in full production Jan 2026, partner availability H2 2026
    # (introl.com [S]).
    {"name": "Rubin", "date": "2026-07-01", "drop": 0.20},
)

# Alibaba Cloud's own price cuts (domain.md §2c). They were cloud-wide cuts, not GPU list prices;
# the GPU share of each is an assumption: the low end of the reported ranges.
PRICE_CUTS: MappingProxyType[str, dict[str, Any]] = MappingProxyType(
    {
        # domain.md §2c: Apr 26 2023, "largest price cut in history", core products -15-50%
        # (laitimes.com/5gu8a; chengju.com/99456 [S]).
        "alibaba-2023-04": {"name": "alibaba-2023-04", "date": "2023-04-26", "cut": 0.15},
        # domain.md §2c: Feb 29 2024, >100 products, average >20%, ECS up to 36%
        # (newsflash.city; m.chengju.com [S]).
        "alibaba-2024-02": {"name": "alibaba-2024-02", "date": "2024-02-29", "cut": 0.20},
    }
)
