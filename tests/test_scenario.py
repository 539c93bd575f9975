"""The scenario schema: defaults, validation with field paths, overrides and built-in files."""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from planner.errors import ScenarioError
from planner.scenario import validate
from tests.conftest import base_dict, scenario


def problems(data: dict, source: str = "<dict>") -> list[str]:
    with pytest.raises(ScenarioError) as info:
        validate(data, source)
    return [str(p) for p in info.value.problems]


def test_defaults_live_in_the_schema() -> None:
    sc = scenario()
    assert sc.scheduler.kind == "fifo"
    assert sc.market.book_life_years == 6.0
    assert sc.regions[0].gpus_per_node == 8
    assert sc.horizon_h == 240.0


def test_scenario_is_frozen() -> None:
    sc = scenario()
    with pytest.raises(Exception, match="frozen"):
        sc.horizon_days = 5  # type: ignore[misc]


def test_unknown_field_is_named_with_its_path() -> None:
    d = base_dict()
    d["tenants"][0]["workloadz"] = {}
    assert problems(d) == ["tenants.acme.workloadz: unknown field"]


def test_wrong_type_names_the_value() -> None:
    found = problems(base_dict(horizon_days="abc"))
    assert len(found) == 1
    assert found[0].startswith("horizon_days: ") and "'abc'" in found[0]


def test_every_problem_is_reported_at_once() -> None:
    d = base_dict(horizon_days=-1)
    d["fleet"][0]["model"] = "H900"
    d["regions"][0]["pod_gpus"] = 12
    found = problems(d)
    assert any(p.startswith("horizon_days:") for p in found)
    assert any(p.startswith("regions.r1:") and "multiple" in p for p in found)
    # Cross-field checks run only once every field is valid on its own.
    assert len(found) == 2


def test_unknown_gpu_model_lists_the_known_ones() -> None:
    d = base_dict()
    d["fleet"][0]["model"] = "H900"
    (found,) = problems(d)
    assert found.startswith("fleet.0.model: unknown GPU model 'H900'")
    assert "H800" in found and "A800" in found


def test_a_job_larger_than_any_pod_can_never_fit() -> None:
    d = base_dict()
    d["tenants"][0]["workload"] = {
        "arrivals": {"kind": "poisson", "per_day": 1},
        "gpus": {"kind": "choice", "values": [8, 32]},
        "work_gpu_h": {"kind": "constant", "value": 10},
    }
    (found,) = problems(d)
    assert found.startswith("tenants.acme.workload.gpus: a job of up to 32 GPUs can never fit")
    assert "16 GPUs" in found


def test_unbounded_gpu_count_needs_a_max() -> None:
    d = base_dict()
    d["tenants"][0]["workload"] = {
        "arrivals": {"kind": "poisson", "per_day": 1},
        "gpus": {"kind": "lognormal", "median": 4, "sigma": 1},
        "work_gpu_h": {"kind": "constant", "value": 10},
    }
    (found,) = problems(d)
    assert "unbounded" in found and "max" in found
    d["tenants"][0]["workload"]["gpus"]["max"] = 16
    validate(d)


def test_campaign_date_outside_the_horizon_is_an_error() -> None:
    d = base_dict()
    d["tenants"][0]["campaigns"] = [{"submit": "2024-02-01", "gpus": 8, "work_gpu_h": 10}]
    (found,) = problems(d)
    assert found.startswith("tenants.acme.campaigns.0.submit: 2024-02-01 is outside the horizon")


def test_tenant_with_no_usable_gpus_is_an_error() -> None:
    d = base_dict()
    d["tenants"][0]["models"] = ["B200"]
    d["tenants"][0]["campaigns"] = [{"submit": "2024-01-02", "gpus": 8, "work_gpu_h": 10}]
    (found,) = problems(d)
    assert found.startswith("tenants.acme.models: no GPUs of B200")


def test_credit_class_needs_a_grant() -> None:
    d = base_dict()
    d["tenants"][0]["class"] = "credit"
    (found,) = problems(d)
    assert found.startswith("tenants.acme: ") and "credit" in found


def test_cohort_must_be_whole_nodes() -> None:
    d = base_dict()
    d["fleet"][0]["gpus"] = 12
    (found,) = problems(d)
    assert found == "fleet.0.gpus: 12 GPUs is not a whole number of 8-GPU nodes in region 'r1'"


def test_distribution_errors_skip_the_union_tag() -> None:
    d = base_dict()
    d["tenants"][0]["workload"] = {
        "arrivals": {"kind": "poisson", "per_day": 1},
        "gpus": {"kind": "constant", "value": 8},
        "work_gpu_h": {"kind": "lognormal", "median": 10, "sigma": -1},
    }
    (found,) = problems(d)
    assert found.startswith("tenants.acme.workload.work_gpu_h.sigma: ")


def test_overrides_by_index_and_by_name_are_validated() -> None:
    sc = scenario()
    bigger = sc.with_overrides({"fleet.0.gpus": 64, "tenants.acme.models": ["H800", "A800"]})
    assert bigger.fleet[0].gpus == 64
    assert bigger.tenants[0].models == ["H800", "A800"]
    assert sc.fleet[0].gpus == 16  # the original is untouched
    with pytest.raises(ScenarioError, match=r"fleet\.0\.gpus: .*whole number"):
        sc.with_overrides({"fleet.0.gpus": 12})


def test_override_of_an_unknown_item_names_the_path() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario().with_overrides({"tenants.nobody.class": "paying"})
    (problem,) = info.value.problems
    assert problem.path == "tenants.nobody.class"
    assert "no item named 'nobody'" in problem.reason and "acme" in problem.reason


def test_override_can_fill_an_unset_section() -> None:
    d = base_dict()
    d["tenants"][0]["class"] = "credit"
    d["tenants"][0]["credit"] = {
        "amount_usd": 100,
        "granted": "2024-01-01",
        "expires": "2024-01-05",
    }
    sc = validate(d)
    assert (
        sc.with_overrides({"tenants.acme.credit.amount_usd": 5e8}).tenants[0].credit.amount_usd
        == 5e8
    )


def test_load_scenario_reports_missing_files_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        planner.load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nregions: [unclosed\n")
    with pytest.raises(ScenarioError) as info:
        planner.load_scenario(bad)
    assert info.value.source == str(bad)
    assert "line" in info.value.message()


def test_scientific_notation_in_yaml_is_a_number(tmp_path: Path) -> None:
    """PyYAML reads ``380e6`` as a string; the schema still takes it as a number."""
    d = base_dict()
    d["tenants"][0]["class"] = "credit"
    d["tenants"][0]["credit"] = {
        "amount_usd": "380e6",
        "granted": "2024-01-01",
        "expires": "2024-01-05",
    }
    assert validate(d).tenants[0].credit.amount_usd == 380e6


@pytest.mark.parametrize("name", planner.scenario.builtin_names())
def test_every_builtin_scenario_validates(name: str) -> None:
    sc = planner.load_scenario(name)
    assert sc.name == name


def test_market_events_name_known_models() -> None:
    d = base_dict()
    d["market"]["price_cuts"] = [{"date": "2024-01-02", "cut": 0.1, "models": ["H900"]}]
    (found,) = problems(d)
    assert found.startswith("market.price_cuts.0.models.0: unknown GPU model 'H900'")


def test_finance_defaults_change_nothing_unless_given() -> None:
    fin = scenario().finance
    assert (fin.cost_of_capital, fin.tax_rate) == (0.10, 0.0)
    assert fin.internal_transfer is None and not fin.internal_in_payback and fin.sell == []


def test_a_sale_names_a_cohort_of_the_scenario() -> None:
    d = base_dict(finance={"sell": [{"cohort": "H800-r9-0", "date": "2024-01-05"}]})
    (found,) = problems(d)
    assert found.startswith("finance.sell.0.cohort: unknown cohort 'H800-r9-0'")
    d["finance"]["sell"][0]["cohort"] = "H800-r1-0"
    assert scenario(finance=d["finance"]).finance.sell[0].cohort == "H800-r1-0"


def test_a_cohort_is_sold_once_and_a_transfer_price_is_given_one_way() -> None:
    twice = [{"cohort": "H800-r1-0", "date": d} for d in ("2024-01-05", "2024-01-06")]
    assert any("sold more than once" in p for p in problems(base_dict(finance={"sell": twice})))
    both = {"internal_transfer": {"share_of_list": 0.5, "usd_per_gpu_h": 1.0}}
    assert any("exactly one" in p for p in problems(base_dict(finance=both)))


def test_the_json_schema_documents_the_finance_section() -> None:
    defs = planner.Scenario.model_json_schema(by_alias=True)["$defs"]
    cost = defs["Finance"]["properties"]["cost_of_capital"]
    assert cost["default"] == 0.10 and "assumption" in cost["description"]
    assert "resale" in defs["Market"]["properties"]
