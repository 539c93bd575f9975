"""Specification of the built-in GPU catalogue."""

import dataclasses
from datetime import date
from typing import Any

import pytest

from planner.catalog import CATALOG, REFERENCE_MODEL, GpuModel, gpu_model, known_models

REQUIRED_MODELS = ("A800", "H800", "H20", "H100", "H200", "B200", "Ascend910B")
EXPORT_CAPPED_MODELS = frozenset({"A800", "H800"})
H800_BF16_DENSE_TFLOPS = 989.0
OCT_2022_EXPORT_RULE = date(2022, 10, 7)

NUMERIC_FIELDS = (
    "bf16_dense_tflops",
    "hbm_gb",
    "hbm_tb_s",
    "interconnect_gb_s",
    "tdp_w",
    "ref_capex_usd",
    "ref_usd_per_gpu_h",
    "throughput",
)

ALL_MODELS = tuple(CATALOG.values())


def _ids(model: GpuModel) -> str:
    return model.name


def test_h800_is_the_reference_with_throughput_exactly_one() -> None:
    assert REFERENCE_MODEL == "H800"
    assert gpu_model(REFERENCE_MODEL).throughput == 1.0


@pytest.mark.parametrize("name", REQUIRED_MODELS)
def test_every_required_model_is_present(name: str) -> None:
    assert name in known_models()
    assert gpu_model(name).name == name


def test_models_are_keyed_by_their_own_name() -> None:
    for name, model in CATALOG.items():
        assert model.name == name


def test_known_models_lists_the_catalogue_in_launch_order() -> None:
    assert known_models() == tuple(CATALOG)
    launches = [gpu_model(name).launched for name in known_models()]
    assert launches == sorted(launches)


def test_only_a800_and_h800_are_nvlink_capped_and_at_400_gb_s() -> None:
    capped = {model.name for model in ALL_MODELS if model.nvlink_capped}
    assert capped == EXPORT_CAPPED_MODELS
    for name in EXPORT_CAPPED_MODELS:
        assert gpu_model(name).interconnect_gb_s == 400.0


def test_capped_parts_differ_from_their_uncapped_siblings_only_in_interconnect() -> None:
    for capped_name, sibling_name in (("A800", "A100"), ("H800", "H100")):
        capped, sibling = gpu_model(capped_name), gpu_model(sibling_name)
        assert capped.bf16_dense_tflops == sibling.bf16_dense_tflops
        assert capped.hbm_gb == sibling.hbm_gb
        assert capped.throughput == sibling.throughput
        assert capped.interconnect_gb_s < sibling.interconnect_gb_s


def test_capped_parts_launched_after_the_october_2022_export_rule() -> None:
    for name in EXPORT_CAPPED_MODELS:
        assert gpu_model(name).launched > OCT_2022_EXPORT_RULE


@pytest.mark.parametrize("model", [m for m in ALL_MODELS if m.vendor == "NVIDIA"], ids=_ids)
def test_nvidia_throughput_is_the_dense_bf16_ratio_to_h800(model: GpuModel) -> None:
    expected = model.bf16_dense_tflops / H800_BF16_DENSE_TFLOPS
    assert model.throughput == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("model", ALL_MODELS, ids=_ids)
def test_specs_and_prices_are_positive(model: GpuModel) -> None:
    for field in NUMERIC_FIELDS:
        assert getattr(model, field) > 0, field


@pytest.mark.parametrize("model", ALL_MODELS, ids=_ids)
def test_rental_price_does_not_predate_launch(model: GpuModel) -> None:
    assert model.ref_price_date >= model.launched


def test_h800_rental_is_the_deepseek_v3_two_dollars() -> None:
    assert gpu_model("H800").ref_usd_per_gpu_h == 2.00


def test_a800_rental_is_within_the_assumed_0_4_to_0_6_of_h800() -> None:
    ratio = gpu_model("A800").ref_usd_per_gpu_h / gpu_model("H800").ref_usd_per_gpu_h
    assert 0.4 <= ratio <= 0.6


def test_unknown_model_raises_key_error_naming_it_and_listing_known_models() -> None:
    with pytest.raises(KeyError) as excinfo:
        gpu_model("MI300X")
    message = str(excinfo.value)
    assert "MI300X" in message
    for name in known_models():
        assert name in message


def test_lookup_is_case_sensitive() -> None:
    with pytest.raises(KeyError):
        gpu_model("h800")


def test_catalogue_mapping_cannot_be_mutated() -> None:
    catalog: Any = CATALOG
    with pytest.raises(TypeError):
        catalog["X"] = gpu_model("H800")
    with pytest.raises(TypeError):
        del catalog["H800"]
    assert "X" not in CATALOG
    assert "H800" in CATALOG


def test_catalogue_entries_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        gpu_model("H800").throughput = 2.0  # type: ignore[misc]
    assert gpu_model("H800").throughput == 1.0


def test_known_models_returns_an_immutable_tuple() -> None:
    assert isinstance(known_models(), tuple)
