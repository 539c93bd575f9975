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

# US export-control events (domain.md §3), usable by name in a scenario's export_controls.
EXPORT_CONTROLS: MappingProxyType[str, dict[str, Any]] = MappingProxyType(
    {
        # domain.md §3: BIS interim final rule of 2022-10-07 (afslaw.com; wsgr.com [S]); A100 and
        # H100 exports to China need a licence (Nvidia filing, 2022-08-26 [P]), read as a ban.
        "bis-2022-10": {
            "name": "bis-2022-10",
            "effective": "2022-10-07",
            "ban": ["A100", "H100"],
            "undelivered": "cancel",
        },
        # domain.md §3: the 2023-10-17 update covers A100/A800/H100/H800; the USG told Nvidia it
        # applied immediately (8-K of 2023-10-24; theregister.com [P/N]). The premium on stock
        # already in China: an 8xH800 server went 2.3 -> >2.7 M CNY (+17%, Caixin [N]); its
        # duration is an assumption (until H20 volume shipments, Q2 2024).
        "bis-2023-10": {
            "name": "bis-2023-10",
            "effective": "2023-10-23",
            "ban": ["A100", "A800", "H100", "H800"],
            "undelivered": "cancel",
            "scarcity_premium": 0.17,
            "scarcity_days": 161,
        },
        # domain.md §3: licences required for H20 "indefinitely" from 2025-04-09 (CNBC via
        # nbcsandiego [N]): deliveries stop; orders wait.
        "h20-2025-04": {
            "name": "h20-2025-04",
            "effective": "2025-04-09",
            "ban": ["H20"],
            "undelivered": "freeze",
        },
        # domain.md §3: sales resume with licences from 2025-07-15 (realnewshub.com [S]). Licence
        # processing time and denial odds are assumptions: a month, one order in ten refused.
        "h20-2025-07": {
            "name": "h20-2025-07",
            "effective": "2025-07-15",
            "lift": ["H20"],
            "licence": {
                "models": ["H20"],
                "delay_days": {"kind": "constant", "value": 30},
                "deny_probability": 0.1,
            },
        },
    }
)

# Causes of the 419 unexpected interruptions in the Llama 3 405B run (domain.md §5b: the Llama 3
# Herd of Models table, via glennklockwood.com [P/S]), as shares of failures.
LLAMA3_FAILURE_CAUSES: MappingProxyType[str, float] = MappingProxyType(
    {
        "faulty GPU": 148,
        "GPU HBM3 memory": 72,
        "software bug": 54,
        "network switch/cable": 35,
        "host maintenance": 32,
        "GPU SRAM": 19,
        "GPU system processor": 17,
        "NIC": 7,
        "NCCL watchdog": 7,
        "silent data corruption": 6,
        "GPU thermal": 6,
        # SSD, PSU, chassis, IO board, dependency, CPU, system memory: 3+3+2+2+2+2+2.
        "other hardware": 16,
    }
)

# State directives, usable by name in a scenario's directives (``preset: NAME``); the scenario
# names the pool (model and region) and the tenants.
DIRECTIVES: MappingProxyType[str, dict[str, Any]] = MappingProxyType(
    {
        # Beijing asks cloud providers to supply AI firms with compute. The draft of 12 May 2023
        # calls on top-tier public cloud providers to pool computing power for Beijing's
        # universities, research institutes and SMEs, through a state-backed platform that
        # allocates public cloud resources by demand (SCMP, 16 May 2023, via chinastrategy.org;
        # TechCrunch, 18 May 2023, via lbcgroup.tv [N]). The "Several Measures" were issued on
        # 30 May 2023 with an implementation plan for 2023-2025: organise commercial computing
        # power for urgent needs through a computing-power partnership with cloud vendors
        # (Yicai Global, 7 Jun 2023 [N]; tendenzblick.net [S]). The date is the issue date and
        # 'until' the end of the plan's period. No source gives a share of a provider's GPUs:
        # the 10% is an assumption.
        "beijing-agi-2023": {
            "preset": "beijing-agi-2023",
            "name": "beijing-agi-2023",
            "date": "2023-05-30",
            "until": "2026-01-01",
            "share": 0.10,
            "source": "Beijing 'Several Measures' on general AI, 30 May 2023 (SCMP 16 May 2023; "
            "TechCrunch 18 May 2023; Yicai Global 7 Jun 2023); no source gives a share: assumption",
        },
    }
)
