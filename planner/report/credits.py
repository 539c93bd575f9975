"""Figure data: each credit deal's balance month by month, and its grant and expiry dates."""

from __future__ import annotations

from datetime import date

import numpy as np
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


def burn_rates(credit_ledger: pd.DataFrame, sc: Scenario) -> pd.DataFrame:
    """Per deal and calendar month while the grant is valid: what was left when the month (or
    the grant) began, the burn per day that month, the burn per day needed from then on to use
    what is left by the expiry, and what the expiry forfeited (a loss: credits granted and never
    turned into compute).

    Columns ``tenant``, ``month``, ``valid_days`` (days of the month the grant was valid),
    ``left_at_start_usd``, ``burned_usd``,
    ``burned_usd_per_day``, ``needed_usd_per_day``, ``forfeited_usd``. Needed is left / days
    to the expiry, from the later of the month's start and the grant; it is NaN once the
    grant has expired.
    """
    valid = {
        t.name: (sc.hours_since_start(t.credit.granted), sc.hours_since_start(t.credit.expires))
        for t in sc.tenants
        if t.credit is not None
    }
    rows = []
    frame = credit_ledger.sort_values(["tenant", "from_h"], kind="stable")
    for tenant, group in frame.groupby("tenant", sort=False):
        if str(tenant) not in valid:
            continue
        granted_h, expires_h = valid[str(tenant)]
        left_usd = 0.0
        for rec in group.to_dict("records"):
            from_h, to_h = float(rec["from_h"]), float(rec["to_h"])
            granted, burned = float(rec["credits_granted_usd"]), float(rec["credits_burned_usd"])
            forfeited = float(rec["credits_forfeited_usd"])
            at_start = left_usd + granted
            left_usd = at_start - burned - forfeited
            began_h = max(from_h, granted_h)
            if to_h <= granted_h or began_h >= expires_h:
                if forfeited > 0:  # forfeited at an expiry on a month's first instant
                    rows.append(
                        (tenant, rec["month"], 0.0, at_start, burned, np.nan, np.nan, forfeited)
                    )
                continue
            spent_days = (min(to_h, expires_h) - began_h) / 24.0
            rows.append(
                (
                    tenant,
                    rec["month"],
                    spent_days,
                    at_start,
                    burned,
                    burned / spent_days if spent_days > 0 else np.nan,
                    at_start / ((expires_h - began_h) / 24.0),
                    forfeited,
                )
            )
    columns = [
        "tenant",
        "month",
        "valid_days",
        "left_at_start_usd",
        "burned_usd",
        "burned_usd_per_day",
        "needed_usd_per_day",
        "forfeited_usd",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["tenant"] = out["tenant"].astype(str)
    out["month"] = pd.to_datetime(out["month"].astype(str))
    return out


def deal_outcomes(deals: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Per deal: granted, burned, forfeited (lost) and what is left, with the even burn per day
    the grant needed from its grant to its expiry and the burn it got while valid."""
    rows = []
    for rec in deals.to_dict("records"):
        mine = rates[rates["tenant"] == rec["tenant"]]
        days = max((rec["expires"] - rec["granted"]).total_seconds() / 86_400.0, 1e-9)
        burned = float(mine["burned_usd"].sum())
        forfeited = float(mine["forfeited_usd"].sum())
        valid_days = float(mine["valid_days"].sum())
        rows.append(
            {
                "tenant": rec["tenant"],
                "granted_usd": rec["amount_usd"],
                "expires": rec["expires"],
                "burned_usd": burned,
                "forfeited_usd_lost": forfeited,
                "left_usd": _balance(float(rec["amount_usd"]), burned + forfeited)
                if len(mine)
                else np.nan,
                "even_burn_needed_usd_per_day": float(rec["amount_usd"]) / days,
                "burn_got_usd_per_day": burned / valid_days if valid_days > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _balance(granted_usd: float, gone_usd: float) -> float:
    """What is left of a grant; rounding dust (a grant spent to the last cent) is not a balance."""
    left = granted_usd - gone_usd
    return left if abs(left) > 1e-6 * max(granted_usd, 1.0) else 0.0
