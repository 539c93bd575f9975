"""Built-in catalogue of GPU accelerator models: specs, reference prices and relative throughput.

Every number cites ``shared/domain.md`` by section together with the source that section names;
numbers that are assumptions or arithmetic on other numbers say so. Conventions:

* ``throughput`` is dense BF16 TFLOPS divided by the H800's 989 (domain.md §1), so the reference
  model is exactly 1.0. No catalogue entry has a better-cited training anchor than this ratio.
* ``launched`` is the exact day where domain.md gives one; otherwise the first day of the period
  it gives (a month, quarter, half-year or year).
* ``ref_capex_usd`` is all-in per GPU, host server share included. A quote for a bare card or an
  8-GPU baseboard gets ``_HOST_SHARE_CNY`` added so that it compares with server quotes.
* A part with no rental quote in domain.md is priced at the rental yield (USD per GPU-hour per
  USD of capex) of a quoted part from the same market or generation, and dated like that quote
  or, if the quote predates the part, at its launch.
* CNY converts at domain.md's 7.2 CNY/USD.
* The catalogue is ordered by ``launched``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

REFERENCE_MODEL = "H800"  # throughput 1.0 by definition


@dataclass(frozen=True, slots=True)
class GpuModel:
    """One accelerator model. Throughput is relative to the reference model (H800 = 1.0)."""

    name: str
    vendor: str  # "NVIDIA" / "Huawei"
    arch: str
    bf16_dense_tflops: float
    hbm_gb: float
    hbm_tb_s: float
    interconnect_gb_s: float  # NVLink (or HCCS) per GPU, bidirectional
    tdp_w: float
    launched: date  # first shipments / launch; see the module docstring for the day chosen
    ref_capex_usd: float  # all-in purchase price per GPU (server share included)
    ref_usd_per_gpu_h: float  # reference cloud rental price per GPU-hour
    ref_price_date: date  # the date the rental price refers to
    throughput: float  # training speed relative to H800 (dense BF16 ratio)
    nvlink_capped: bool  # True for the export-compliant 400 GB/s parts (A800, H800)


# domain.md header: "FX used for derived conversions: 7.2 CNY/USD".
_CNY_PER_USD = 7.2

# domain.md §1: H800 BF16 dense 989 TFLOPS, aiwiki.ai/wiki/nvidia_h800 [S].
_REFERENCE_BF16_TFLOPS = 989.0

# Derived: host share per GPU (CPU, RAM, NICs, chassis) in China, Jan 2024. An 8xH20 server at
# 1.4 M CNY is 175k CNY per GPU against ~110k CNY for the bare H20 card, leaving 65k CNY.
# domain.md §2a: Reuters via dunyanews.tv [N].
_HOST_SHARE_CNY = 1_400_000 / 8 - 110_000

# domain.md §8 default ($30-55k range); §2a derives $35-49k per GPU from 8xH800 servers at
# 2.0-2.8 M CNY (Reuters via dunyanews.tv; 智东西 via chengju.com) [N].
_H800_CAPEX_USD = 40_000.0
# domain.md §2b: DeepSeek-V3 report, Dec 2024 [P]. MiniMax-M1's 2025 rental implies ~2.07 [P].
_H800_USD_PER_GPU_H = 2.00
# Chosen day for "Dec 2024" (first of the month).
_H800_PRICE_DATE = date(2024, 12, 1)
# Derived: rental yield of the China-market anchor, USD per GPU-hour per USD of capex.
_H800_RENTAL_YIELD = _H800_USD_PER_GPU_H / _H800_CAPEX_USD

# domain.md §2b: FT Alphaville via newsbeep.com [N]: B200 "~3.20 early 2025 -> 2.80 floor
# (bought at ~$50k)".
_B200_CAPEX_USD = 50_000.0
_B200_USD_PER_GPU_H = 3.20
# Derived: rental yield of the Blackwell anchor.
_B200_RENTAL_YIELD = _B200_USD_PER_GPU_H / _B200_CAPEX_USD


def _bf16_ratio(bf16_dense_tflops: float) -> float:
    """Dense BF16 throughput relative to the H800."""
    return bf16_dense_tflops / _REFERENCE_BF16_TFLOPS


def _usd(cny: float) -> float:
    return cny / _CNY_PER_USD


_MODELS: tuple[GpuModel, ...] = (
    GpuModel(
        name="A100",
        vendor="NVIDIA",
        arch="Ampere",
        bf16_dense_tflops=312.0,  # domain.md §1: glennklockwood.com A100 (NVIDIA datasheet) [S/P]
        hbm_gb=80.0,  # domain.md §1: glennklockwood.com A100 [S/P]
        hbm_tb_s=2.039,  # domain.md §1: glennklockwood.com A100 [S/P]
        interconnect_gb_s=600.0,  # domain.md §1: glennklockwood.com A100 [S/P]
        tdp_w=400.0,  # domain.md §1: glennklockwood.com A100 [S/P]
        # domain.md §1/§3: "Announced May 2020", glennklockwood A100 [S]; first of month chosen.
        launched=date(2020, 5, 1),
        # Derived: ~$10k "normal" card price in Shenzhen (~2024), domain.md §2a Reuters via
        # purepc.pl [N], plus the host share. The "up to $20k" scarcity price is not used.
        ref_capex_usd=10_000.0 + _usd(_HOST_SHARE_CNY),
        # domain.md §2b: AWS Capacity Blocks, late 2024 [P]. Inside the 1.5-3 range that FT gives
        # for big Chinese clouds in Sep 2024 (via finansavisen.no) [N].
        ref_usd_per_gpu_h=1.84,
        ref_price_date=date(2024, 10, 1),  # "late 2024" read as Q4; its first day chosen
        throughput=_bf16_ratio(312.0),
        nvlink_capped=False,
    ),
    GpuModel(
        name="H100",
        vendor="NVIDIA",
        arch="Hopper",
        bf16_dense_tflops=989.0,  # domain.md §1: glennklockwood.com/garden/processors/h100 [S]
        hbm_gb=80.0,  # domain.md §1: glennklockwood.com h100 [S]
        hbm_tb_s=3.35,  # domain.md §1: glennklockwood.com h100 [S]
        interconnect_gb_s=900.0,  # domain.md §1: glennklockwood.com h100 [S]
        tdp_w=700.0,  # domain.md §1: glennklockwood.com h100 [S]
        # domain.md §1/§3: full production Sep 20 2022, AnandTech via awof.org [N]. OEM systems
        # followed in Oct 2022, so this marks shipments, not the Mar 2022 announcement.
        launched=date(2022, 9, 20),
        # domain.md §2a: ~$47-52k all-in per GPU incl. network, Eugene Cheah,
        # substack.tech-talk-cto.com [S]. Unlike the China server quotes this includes the fabric.
        ref_capex_usd=50_000.0,
        # domain.md §2b: H100 SXM on-demand Oct 2024, SemiAnalysis via neighborhoodsf.com [S].
        # A non-hyperscaler market price, like the H800 anchor.
        ref_usd_per_gpu_h=2.99,
        ref_price_date=date(2024, 10, 1),  # "Oct 2024"; first of month chosen
        throughput=_bf16_ratio(989.0),
        nvlink_capped=False,
    ),
    GpuModel(
        name="A800",
        vendor="NVIDIA",
        arch="Ampere",
        bf16_dense_tflops=312.0,  # domain.md §1: "same as A100", aiwiki.ai/wiki/nvidia_a800 [S]
        hbm_gb=80.0,  # domain.md §1: aiwiki.ai/wiki/nvidia_a800 [S]
        # domain.md §1: "~2.0 TB/s (same as A100)", aiwiki A800 [S]; A100's datasheet figure used.
        hbm_tb_s=2.039,
        # domain.md §1: cut from 600 to stay under the Oct 2022 rule's 600 GB/s I/O test,
        # tweakers.net/nieuws/203182 (Reuters) [N].
        interconnect_gb_s=400.0,
        tdp_w=400.0,  # domain.md §1: SXM part (300 W is PCIe), aiwiki.ai/wiki/nvidia_a800 [S]
        # domain.md §1/§3: confirmed for China Nov 7 2022 (in production Q3 2022),
        # globaltimes.cn [N].
        launched=date(2022, 11, 7),
        # domain.md §8 default ($20-30k range); §2a derives $24-26k per GPU from 8xA800 servers
        # at 1.4-1.5 M CNY, Oct 2023, 智东西 via chengju.com [N].
        ref_capex_usd=25_000.0,
        # Assumption, domain.md §8: "A800-class ~0.4-0.6x H800 (assumption from A100/H100
        # ratios)"; the midpoint 0.5x of the H800 anchor, dated like it.
        ref_usd_per_gpu_h=0.5 * _H800_USD_PER_GPU_H,
        ref_price_date=_H800_PRICE_DATE,
        throughput=_bf16_ratio(312.0),
        nvlink_capped=True,
    ),
    GpuModel(
        name="Ascend910B",
        vendor="Huawei",
        arch="Da Vinci",
        # domain.md §1: ~320, laoliapi.cn [S]; "some say 376" is not used. §1 also notes weaker
        # training reliability for Ascend (daily8.com/smbom.com citing Tom's Hardware [S]), but
        # gives no training-speed anchor for the 910B, so throughput keeps the BF16 ratio.
        bf16_dense_tflops=320.0,
        hbm_gb=64.0,  # domain.md §1: laoliapi.cn [S]
        # domain.md §1: 1.2-1.6 TB/s quoted; 1.2 is laoliapi.cn's figure, the same source as the
        # 320 TFLOPS and 64 GB used here [S].
        hbm_tb_s=1.2,
        # domain.md §1: HCCS "392-400 GB/s quoted", boardor.com; laoliapi.cn [S]; the lower quote.
        interconnect_gb_s=392.0,
        # Derived: midpoint of the 310-400 W range in domain.md §1, boardor.com; laoliapi.cn [S].
        tdp_w=355.0,
        # domain.md §1: "Mass production 2023", boardor.com [S]; first day of the year chosen.
        launched=date(2023, 1, 1),
        # Derived: ~120k CNY per card, Jan 2024, domain.md §2a Reuters via dunyanews.tv [N],
        # plus the host share.
        ref_capex_usd=_usd(120_000 + _HOST_SHARE_CNY),
        # Assumption: domain.md has no Ascend rental price. Priced at the H800 anchor's rental
        # yield on capex (same China market), dated like it. Throughput-scaling would give ~0.65.
        ref_usd_per_gpu_h=_usd(120_000 + _HOST_SHARE_CNY) * _H800_RENTAL_YIELD,
        ref_price_date=_H800_PRICE_DATE,
        throughput=_bf16_ratio(320.0),
        nvlink_capped=False,
    ),
    GpuModel(
        name="H800",
        vendor="NVIDIA",
        arch="Hopper",
        bf16_dense_tflops=989.0,  # domain.md §1: "same as H100", aiwiki.ai/wiki/nvidia_h800 [S]
        hbm_gb=80.0,  # domain.md §1: aiwiki.ai/wiki/nvidia_h800 [S]
        hbm_tb_s=3.35,  # domain.md §1: aiwiki.ai/wiki/nvidia_h800; philisun.com [S]
        # domain.md §1: cut from 900, aiwiki.ai/wiki/nvidia_h800 [S].
        interconnect_gb_s=400.0,
        # domain.md §1: "same board" as H100, aiwiki.ai/wiki/nvidia_h800 [S]; the 550 W claim
        # (electronnexus.com) is flagged [L] and not used.
        tdp_w=700.0,
        launched=date(2023, 3, 21),  # domain.md §1/§3: launched Mar 21 2023, aiwiki H800 [S]
        ref_capex_usd=_H800_CAPEX_USD,
        ref_usd_per_gpu_h=_H800_USD_PER_GPU_H,
        ref_price_date=_H800_PRICE_DATE,
        throughput=_bf16_ratio(989.0),
        nvlink_capped=True,
    ),
    GpuModel(
        name="H20",
        vendor="NVIDIA",
        arch="Hopper",
        bf16_dense_tflops=148.0,  # domain.md §1: tomshardware.com (Vipera table) [N/S]
        # domain.md §1: willitrunai.com/gpus/h20-96gb [S]; the 141 GB variant of 2025 not modelled.
        hbm_gb=96.0,
        hbm_tb_s=4.0,  # domain.md §1: willitrunai.com/gpus/h20-96gb [S]
        interconnect_gb_s=900.0,  # domain.md §1: tomshardware.com (Vipera table) [N/S]
        tdp_w=400.0,  # domain.md §1: tomshardware.com (Vipera table) [N/S]
        # domain.md §1/§3: small batches Q1 2024, volume Q2 2024, Reuters via dunyanews.tv [N];
        # first day of the volume quarter chosen.
        launched=date(2024, 4, 1),
        # Derived: 8xH20 server 1.4 M CNY, Jan 2024, domain.md §2a Reuters via dunyanews.tv [N].
        # The card alone was $12-15k; the May 2024 10% cut is not applied.
        ref_capex_usd=_usd(1_400_000 / 8),
        # Assumption: domain.md has no H20 rental price. Priced at the H800 anchor's rental yield
        # on capex (same China market), dated like it. The H20 is bought for HBM-bound inference
        # (domain.md §1: SemiAnalysis judged it better than the 910B because of its HBM [S]), which
        # its purchase price reflects; throughput-scaling would give ~0.30.
        ref_usd_per_gpu_h=_usd(1_400_000 / 8) * _H800_RENTAL_YIELD,
        ref_price_date=_H800_PRICE_DATE,
        throughput=_bf16_ratio(148.0),
        nvlink_capped=False,
    ),
    GpuModel(
        name="H200",
        vendor="NVIDIA",
        arch="Hopper",
        bf16_dense_tflops=989.0,  # domain.md §1: aiwiki.ai/wiki/nvidia_h200 [S]
        hbm_gb=141.0,  # domain.md §1: aiwiki.ai/wiki/nvidia_h200 [S]
        hbm_tb_s=4.8,  # domain.md §1: aiwiki.ai/wiki/nvidia_h200; lzwjava.github.io [S]
        interconnect_gb_s=900.0,  # domain.md §1: lzwjava.github.io (spec table) [S]
        tdp_w=700.0,  # domain.md §1: lzwjava.github.io (spec table) [S]
        # domain.md §1/§3: "shipped Q2 2024", aiwiki H200 [S]; first day of the quarter chosen.
        launched=date(2024, 4, 1),
        # Derived, low confidence: 8xH200 module 1.4 M CNY (~$200k) in 2025, domain.md §2a,
        # Chinese media via okx post [L]. A module has no host, so the host share is added.
        ref_capex_usd=_usd(1_400_000 / 8 + _HOST_SHARE_CNY),
        # Derived: the H100 market price (2.99, Oct 2024, SemiAnalysis via neighborhoodsf.com [S])
        # times the H200/H100 ratio of AWS Capacity Blocks, late 2024 (5.41/4.92) [P]; domain.md
        # §2b. Cross-check: May 2026 long-tail H200 2.5-3.5, mercatus-ai.com [S].
        ref_usd_per_gpu_h=2.99 * 5.41 / 4.92,
        ref_price_date=date(2024, 10, 1),  # dated like the H100 market price it scales
        throughput=_bf16_ratio(989.0),
        nvlink_capped=False,
    ),
    GpuModel(
        name="B200",
        vendor="NVIDIA",
        arch="Blackwell",
        # domain.md §1: HGX 1000 W part, glennklockwood.com/garden/processors/B200 [S/P]; the
        # GB200 variant's 2,500 at 1,200 W is not used.
        bf16_dense_tflops=2250.0,
        # domain.md §1: "180-192 GB", docs.vultr.com HGX B200 [S]; the lower figure chosen.
        hbm_gb=180.0,
        hbm_tb_s=8.0,  # domain.md §1: glennklockwood.com B200 [S/P]
        interconnect_gb_s=1800.0,  # domain.md §1: glennklockwood.com B200 [S/P]
        tdp_w=1000.0,  # domain.md §1: HGX B200, docs.vultr.com [S]
        # domain.md §1/§3: "hyperscaler shipments late 2024", aiwiki B200 [S]; read as Q4 and its
        # first day chosen.
        launched=date(2024, 10, 1),
        # domain.md §2b: "bought at ~$50k", FT Alphaville via newsbeep.com [N]; whether this
        # includes the host share is not stated.
        ref_capex_usd=_B200_CAPEX_USD,
        ref_usd_per_gpu_h=_B200_USD_PER_GPU_H,
        ref_price_date=date(2025, 1, 1),  # "early 2025"; first day of the year chosen
        throughput=_bf16_ratio(2250.0),
        nvlink_capped=False,
    ),
    GpuModel(
        name="B300",
        vendor="NVIDIA",
        arch="Blackwell",
        # Assumption: domain.md §1 gives BF16 as "n/s (same dies as B200)",
        # aiwiki.ai/wiki/nvidia_blackwell_ultra [S]; the B200's 2,250 is used.
        bf16_dense_tflops=2250.0,
        hbm_gb=288.0,  # domain.md §1: aiwiki.ai/wiki/nvidia_blackwell_ultra [S]
        hbm_tb_s=8.0,  # domain.md §1: "~8 TB/s", aiwiki.ai/wiki/nvidia_blackwell_ultra [S]
        interconnect_gb_s=1800.0,  # domain.md §1: aiwiki.ai/wiki/nvidia_blackwell_ultra [S]
        # Derived: midpoint of the 1,100-1,400 W range ("sources vary") in domain.md §1,
        # aiwiki Blackwell Ultra; tweaktown (Hot Chips 2025) [S].
        tdp_w=1250.0,
        # domain.md §1/§8: "ship H2 2025" (Nvidia, via aiwiki Blackwell Ultra [S]); first day of
        # H2 chosen. kad8.com [S] puts volume in Jan 2026.
        launched=date(2025, 7, 1),
        # Derived, low confidence: DGX B300 ~$550k US list / 8 GPUs, Jun 2026, domain.md §2a
        # stockwirex.com [L]. A DGX is a whole server, so the host share is included.
        ref_capex_usd=550_000 / 8,
        # Assumption: domain.md has no B300 rental price. Priced at the B200's early-2025 rental
        # yield on capex, as of the B300's launch.
        ref_usd_per_gpu_h=550_000 / 8 * _B200_RENTAL_YIELD,
        ref_price_date=date(2025, 7, 1),
        throughput=_bf16_ratio(2250.0),
        nvlink_capped=False,
    ),
)

CATALOG: Mapping[str, GpuModel] = MappingProxyType({model.name: model for model in _MODELS})


def gpu_model(name: str) -> GpuModel:
    """Look up a model; raise KeyError naming the unknown model and listing the known ones."""
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(CATALOG)
        raise KeyError(f"unknown GPU model {name!r}; known models: {known}") from None


def known_models() -> tuple[str, ...]:
    """Names of the built-in models, in catalogue order."""
    return tuple(CATALOG)


# Resale value, share of unit capex by age in whole years, before architecture steps; the same
# for every model, since domain.md §4b has a ladder for the H100 only. Low confidence: §4b cites
# GLRI pages on v2-pseo-ai.pages.dev [L] for "H100 retains 60-65% of price at 12 months, 40-45%
# at 24, 25-35% at 36" and "values hold until the next architecture is widely available, then
# step down 20-30%". Derived: the midpoints are 0.625, 0.425 and 0.30. The H100 (shipped Sep
# 2022) met its next architecture, Blackwell (B200, Oct 2024), between 24 and 36 months, so the
# 36-month point before that step is 0.30 / (1 - 0.25) = 0.40. A100 "loses 45-50% in year 1"
# (same source) would give 0.525 at 12 months; not used.
RESALE_SHARE_BY_YEAR: tuple[float, ...] = (1.0, 0.625, 0.425, 0.40)
# domain.md §4b: "step down 20-30%" when the next architecture ships [L]; the midpoint.
RESALE_SUCCESSOR_STEP = 0.25
