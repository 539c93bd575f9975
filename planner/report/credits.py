"""Figure data: each credit deal's balance month by month, and its grant and expiry dates."""

from __future__ import annotations

from datetime import date

import pandas as pd

from planner.report.calendar import timestamps
from planner.scenario.schema import Scenario


def credit_deals(sc: Scenario) -> pd.DataFrame:
    """Every credit deal in the scenario: ``tenant``, ``amount_usd``, ``granted``, ``expires``,
    and whether the expiry falls within the horizon (``expires_in_horizon``)."""
    rows = [
        (
            t.name,
            t.credit.amount_usd,
            pd.Timestamp(t.credit.granted),
            pd.Timestamp(t.credit.expires),
            t.credit.expires <= sc.end,
        )
        for t in sc.tenants
        if t.credit is not None
    ]
    columns = ["tenant", "amount_usd", "granted", "expires", "expires_in_horizon"]
    return pd.DataFrame(rows, columns=columns)


def burn_down(
    credit_ledger: pd.DataFrame, credit_events: pd.DataFrame, start: date
) -> pd.DataFrame:
    """Each deal's credits left over time: at every month end (granted - burned - forfeited to
    date, from the credit ledger), and just before and after each grant, exhaustion and expiry
    (from the credit events), so the grant and the forfeit show as steps.

    Columns ``tenant``, ``t_h``, ``date``, ``point`` (``month end``, ``granted``, ``exhausted``
    or ``expired``), ``granted_usd``, ``burned_usd``, ``forfeited_usd`` (month ends only,
    cumulative), ``left_usd``; in time order per deal.
    """
    frame = credit_ledger.sort_values(["tenant", "from_h"], kind="stable")
    grouped = frame.groupby("tenant", sort=False)
    ends = pd.DataFrame(
        {
            "tenant": frame["tenant"].astype(str).to_numpy(),
            "t_h": frame["to_h"].to_numpy(dtype=float),
            "order": 0,
            "point": "month end",
            "granted_usd": grouped["credits_granted_usd"].cumsum().to_numpy(),
            "burned_usd": grouped["credits_burned_usd"].cumsum().to_numpy(),
            "forfeited_usd": grouped["credits_forfeited_usd"].cumsum().to_numpy(),
        }
    )
    left = ends["granted_usd"] - ends["burned_usd"] - ends["forfeited_usd"]
    # Rounding dust (a grant spent to the last cent) is not a balance.
    ends["left_usd"] = left.where(left.abs() > 1e-6 * ends["granted_usd"].clip(lower=1.0), 0.0)
    steps = []
    for rec in credit_events.to_dict("records"):
        t_h, tenant, amount = float(rec["t_h"]), str(rec["tenant"]), float(rec["amount_usd"])
        if rec["kind"] == "granted":
            steps += [(tenant, t_h, 1, "granted", 0.0), (tenant, t_h, 2, "granted", amount)]
        elif rec["kind"] == "expired":
            steps += [(tenant, t_h, 1, "expired", amount), (tenant, t_h, 2, "expired", 0.0)]
        elif rec["kind"] == "exhausted":
            steps.append((tenant, t_h, 1, "exhausted", 0.0))
    events = pd.DataFrame(steps, columns=["tenant", "t_h", "order", "point", "left_usd"])
    out = pd.concat([ends, events], ignore_index=True) if len(events) else ends
    out = out.sort_values(["tenant", "t_h", "order"], kind="stable").drop(columns="order")
    out.insert(2, "date", timestamps(start, out["t_h"].to_numpy()).to_numpy())
    order = {t: i for i, t in enumerate(dict.fromkeys(credit_ledger["tenant"].astype(str)))}
    out = out.sort_values("tenant", key=lambda c: c.map(order), kind="stable")
    return out.reset_index(drop=True)


def burn_down_table(series: pd.DataFrame) -> pd.DataFrame:
    """:func:`burn_down`'s month-end balances, one row per month end and a column per deal.

    A month-end point sits at the first instant of the next month; its row is labelled with
    the month it closes (a balance at 1 November 00:00 is October's closing balance).
    """
    ends = series[series["point"] == "month end"].copy()
    closes = (ends["date"] - pd.Timedelta(microseconds=1)).dt.to_period("M")
    ends["month_end"] = closes.dt.to_timestamp()
    wide = ends.pivot_table(
        index="month_end", columns="tenant", values="left_usd", aggfunc="first", sort=True
    )
    wide.columns = [f"{tenant} left_usd" for tenant in wide.columns]
    return wide.reset_index()
