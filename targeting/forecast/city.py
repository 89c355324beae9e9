"""The forecast's starting point per kelurahan, built from a scored registry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from targeting.data import schema
from targeting.data.eligibility import eligible_for_ranking
from targeting.forecast.stockflow import CityState

__all__ = ["build_city_state"]


def build_city_state(
    registry: pd.DataFrame,
    probabilities: pd.Series,
    order_scores: pd.Series | None = None,
    start_sd_log: float = 0.0,
) -> CityState:
    """Build the forecast's starting point per kelurahan from a scored registry.

    Parameters
    ----------
    registry : pandas.DataFrame
        The validated registry.
    probabilities : pandas.Series
        Calibrated P(extreme) per household (index ``household_id``): the best estimate of who
        is extremely poor, used for the stock and for the yield of each visit.
    order_scores : pandas.Series, optional
        The scores that order the visits (another model's ranking); default ``probabilities``.
        The yield curve is then the champion's probabilities read in that model's order, so a
        worse ranking yields fewer finds per visit.
    start_sd_log : float, default 0
        Uncertainty of the start stock (standard deviation of its log, from
        :func:`~targeting.evaluation.stock.unreached_stock`): each forecast path draws its own
        level.

    Returns
    -------
    targeting.forecast.stockflow.CityState
    """
    order_scores = probabilities if order_scores is None else order_scores
    eligible_mask = eligible_for_ranking(registry)
    frame = pd.DataFrame(
        {
            "kecamatan": registry["kecamatan"].to_numpy(),
            "kelurahan": registry["kelurahan"].to_numpy(),
            "household_id": registry["household_id"].to_numpy(),
            "p": probabilities.reindex(registry["household_id"]).to_numpy(),
            "order": order_scores.reindex(registry["household_id"]).to_numpy(),
            "eligible": eligible_mask.to_numpy(),
            "reached": schema.is_reached(registry).to_numpy(),
        }
    )
    areas = (
        frame[["kecamatan", "kelurahan"]].drop_duplicates().sort_values(["kecamatan", "kelurahan"])
    )
    curves, orders, stock, eligible, near_poor, enrolled = [], [], [], [], [], []
    for kec, kel in areas.itertuples(index=False):
        sub = frame[(frame["kelurahan"] == kel) & (frame["kecamatan"] == kec)]
        elig = sub[sub["eligible"]].sort_values(["order", "household_id"], ascending=[False, True])
        curves.append(elig["p"].to_numpy(dtype=float))
        orders.append(elig["order"].to_numpy(dtype=float))
        stock.append(float(elig["p"].sum()))
        eligible.append(len(elig))
        # the near-poor pool that new entrants come from: households whose estimated risk is
        # material (p >= 5 %) but who are not counted as extremely poor
        near_poor.append(float(((sub["p"] >= 0.05) * (1 - sub["p"])).sum()))
        # extreme-poor households already on a programme: graduation sends some of them back
        enrolled.append(float(sub.loc[sub["reached"], "p"].sum()))
    return CityState(
        kecamatan=areas["kecamatan"].to_numpy(dtype=object),
        kelurahan=areas["kelurahan"].to_numpy(dtype=object),
        unreached_extreme=np.asarray(stock),
        eligible=np.asarray(eligible),
        near_poor=np.asarray(near_poor),
        yield_curves=curves,
        enrolled_extreme=np.asarray(enrolled),
        order_curves=None if order_scores is probabilities else orders,
        start_sd_log=float(start_sd_log),
    )
