"""Adapter for the IDB Costa Rican Household Poverty data (DESIGN.md §9).

The file (``costa-rica-ipm/train.csv`` in the shared data folder, never copied into the repo)
has one row per *individual*; :func:`load_costa_rica` turns it into one row per *household*
with engineered proxy features, the binary extreme-poverty label and the 4-class target.

Households and labels
---------------------
* A household is an ``idhogar``. Its label is the **head's** ``Target`` (``parentesco1 == 1``),
  as in the competition: in 85 households the members disagree and the head's value wins.
* The 15 households without a head are **dropped** (their label is undefined under that rule);
  the count is kept in :attr:`HouseholdData.notes` (``n_dropped_no_head``). 2,973 households remain.
* ``label`` = 1 when the head's ``Target == 1`` (extreme poverty, 7.5 % of households);
  ``target4`` = the head's 4-level ``Target`` (1 extreme, 2 moderate, 3 vulnerable, 4 not
  vulnerable) for models that learn from the ordinal label within training folds.

Features (every group is computed from proxies only; ``Target`` of any member, ``Id`` and
``idhogar`` are never features; the ``SQB*``/``agesq`` squares are dropped as redundant)
------------------------------------------------------------------------------------------------
``hh_*`` household-level raw proxies
    the columns that repeat on every member's row, read from the head's row: rent ``v2a1``
    (missing = not renting), rooms, bedrooms, overcrowding flags, bathroom, refrigerator, tablets,
    household size counts (``r4t*``, ``tamviv``, ``hhsize``, ``hogar_nin/adul/mayor``),
    ``dependency``, ``edjefe``/``edjefa``, ``meaneduc``, ``overcrowding``, computer, television,
    mobile phones, ceiling. The housing one-hot groups (walls, floor, roof, water, electricity,
    toilet, cooking energy, rubbish, condition, tenure) enter only through their ``ord_*``
    scores (:data:`COLLAPSED_COLUMNS`).
``ord_*`` collapsed one-hot groups
    ordinal scores (higher = better): wall / roof / floor condition (``epared``, ``etecho``,
    ``eviv``: 1 bad – 3 good), their sum ``ord_condition``, wall / floor / roof material
    quality, water access, electricity, toilet, cooking energy, rubbish disposal, tenure code,
    and ``ord_housing_deficits`` (count of deficient housing attributes).
``head_*`` characteristics of the head
    age, female, disabled, years of schooling, education level (0–8), marital status code.
``n_*``, ``sh_*``, ``edu_*`` member aggregates (all members of the household, from the
    individual rows)
    counts by age band (0–5, 6–11, 12–17, 18–24, 25–39, 40–64, 65+), females, disabled,
    working-age adults; schooling of adults (18+): max / mean / min / sum of years, the share
    and count with at least complete secondary, with tertiary, without complete primary;
    school-age children's years behind (``rez_esc``) sum/max and the share of 7–17-year-olds
    behind; the mean schooling gap of children vs. their age; marital composition
    (free union, married, separated/divorced/widowed, single adults); kinship composition
    (spouse, children, stepchildren, in-laws, grandchildren, parents, siblings, other family,
    non-family); ``n_generations``; working-age (19–64) men and women, their best schooling
    and the working-age schooling total; working-age members with tertiary education; the
    spouse's schooling; the spread (sd) of adults' schooling and of members' ages.
``pc_*`` per-capita and density ratios
    rent per capita and per room, phones / tablets per capita, persons per bedroom and per room,
    rooms per capita, adults per capita, children share, dependency computed from members,
    ``hh_size_gap`` (``tamviv - hhsize``: people living in the dwelling outside the household),
    assets count and assets per capita, log rent per capita, working-age members with tertiary
    education per capita.
``cap_*`` earning capacity
    working-age share, children per working-age adult, working-age schooling per capita,
    single parent (children, no spouse), female head without spouse, no working-age man; and a
    Mincer-style earning-capacity index, the sum over working-age members of
    ``exp(MINCER_RETURN · years of schooling)`` (women weighted by ``FEMALE_EARNING_SHARE``; both
    fixed a priori), in total (``cap_mincer``), for men and for women, and per capita
    (``cap_mincer_pc``...): schooling per head of the household was the strongest single proxy
    (``pc_edu_years``, univariate AUC 0.75), and the index weighs it by who can earn.
``region_*``, ``urban``
    region one-hots (``lugar1..6``) and the urban flag.

Columns for error analysis (not features): ``groups`` is the region name (the robustness view
groups folds by region); ``group_columns`` holds ``region``, ``urban`` (bool), ``female_head``
(bool), ``elderly_head`` (bool, 65+) and ``disabled_member`` (bool).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from targeting.data.household import HouseholdData
from targeting.data.paths import shared_data_dir

__all__ = [
    "COLLAPSED_COLUMNS",
    "FEMALE_EARNING_SHARE",
    "HOUSEHOLD_COLUMNS",
    "MINCER_RETURN",
    "REGIONS",
    "default_costa_rica_path",
    "load_costa_rica",
    "load_costa_rica_raw_heads",
    "shared_data_dir",
]

REGIONS: dict[str, str] = {
    "lugar1": "Central",
    "lugar2": "Chorotega",
    "lugar3": "Pacifico Central",
    "lugar4": "Brunca",
    "lugar5": "Huetar Atlantica",
    "lugar6": "Huetar Norte",
}

# household-level columns that repeat on every member's row (read from the head's row)
HOUSEHOLD_COLUMNS: list[str] = [
    "v2a1", "hacdor", "rooms", "hacapo", "v14a", "refrig", "v18q", "v18q1",
    "r4h1", "r4h2", "r4h3", "r4m1", "r4m2", "r4m3", "r4t1", "r4t2", "r4t3",
    "tamhog", "tamviv", "hhsize", "hogar_nin", "hogar_adul", "hogar_mayor", "hogar_total",
    "dependency", "edjefe", "edjefa", "meaneduc", "bedrooms", "overcrowding",
    "paredblolad", "paredzocalo", "paredpreb", "pareddes", "paredmad", "paredzinc",
    "paredfibras", "paredother", "pisomoscer", "pisocemento", "pisoother", "pisonatur",
    "piso0tiene", "pisomadera", "techozinc", "techoentrepiso", "techocane", "techootro",
    "cielorazo", "abastaguadentro", "abastaguafuera", "abastagua0", "public", "planpri",
    "0elec", "coopele", "sanitario1", "sanitario2", "sanitario3", "sanitario5", "sanitario6",
    "energcocinar1", "energcocinar2", "energcocinar3", "energcocinar4",
    "elimbasu1", "elimbasu2", "elimbasu3", "elimbasu4", "elimbasu5", "elimbasu6",
    "epared1", "epared2", "epared3", "etecho1", "etecho2", "etecho3", "eviv1", "eviv2", "eviv3",
    "tipovivi1", "tipovivi2", "tipovivi3", "tipovivi4", "tipovivi5",
    "computer", "television", "mobilephone", "qmobilephone",
]  # fmt: skip

COLLAPSED_COLUMNS: tuple[str, ...] = (
    "paredblolad", "paredzocalo", "paredpreb", "pareddes", "paredmad", "paredzinc",
    "paredfibras", "paredother", "pisomoscer", "pisocemento", "pisoother", "pisonatur",
    "piso0tiene", "pisomadera", "techozinc", "techoentrepiso", "techocane", "techootro",
    "abastaguadentro", "abastaguafuera", "abastagua0", "public", "planpri", "0elec", "coopele",
    "sanitario1", "sanitario2", "sanitario3", "sanitario5", "sanitario6",
    "energcocinar1", "energcocinar2", "energcocinar3", "energcocinar4",
    "elimbasu1", "elimbasu2", "elimbasu3", "elimbasu4", "elimbasu5", "elimbasu6",
    "epared1", "epared2", "epared3", "etecho1", "etecho2", "etecho3", "eviv1", "eviv2", "eviv3",
    "tipovivi1", "tipovivi2", "tipovivi3", "tipovivi4", "tipovivi5",
    "r4h1", "r4h2", "r4h3", "r4m1", "r4m2", "r4m3", "tamhog", "hogar_total",
)  # fmt: skip
"""Household columns read but not kept as ``hh_*`` features: the housing one-hot groups that the
``ord_*`` scores collapse, the sex-by-age counts that the member aggregates (``n_*``) hold, and two
copies of the household size. On Costa Rica's tuning fold seeds 0–4 (household folds) the
ensemble's EE at the true share went from 0.638 to 0.631 without them (AUC 0.823 → 0.822; the
penalised logit member alone 0.656 → 0.642): fewer redundant columns for the penalty and for the
forest's random feature subsets (``targeting.evaluation.provenance``). Reported once on seeds
100–102: AUC 0.818 / EE 0.643 against 0.817 / 0.649 with them (``benchmarks/README.md``)."""

MINCER_RETURN = 0.10
"""Return to a year of schooling in the earning-capacity index (the order of magnitude of Mincer
returns in Latin America, ≈ 10 % a year; fixed a priori, not chosen on the Costa Rica folds)."""

FEMALE_EARNING_SHARE = 0.5
"""Weight of a working-age woman in ``cap_mincer`` (women's lower labour-force participation;
fixed a priori, not chosen on the Costa Rica folds)."""

# the label and everything derived from it, plus ids: never features
FORBIDDEN_FEATURES = ("Target", "Id", "idhogar")


def default_costa_rica_path() -> Path:
    """Return the default location of the Costa Rica ``train.csv``.

    Returns
    -------
    pathlib.Path
    """
    return shared_data_dir() / "costa-rica-ipm" / "train.csv"


def _ordinal(frame: pd.DataFrame, columns: list[str], scores: list[float]) -> pd.Series:
    """Collapse a one-hot group to a score (NaN when no column is set)."""
    onehot = frame[columns].to_numpy(dtype=float)
    value = onehot @ np.asarray(scores, dtype=float)
    value[onehot.sum(axis=1) == 0] = np.nan
    return pd.Series(value, index=frame.index)


def _housing_ordinals(hh: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=hh.index)
    out["ord_wall_cond"] = _ordinal(hh, ["epared1", "epared2", "epared3"], [1, 2, 3])
    out["ord_roof_cond"] = _ordinal(hh, ["etecho1", "etecho2", "etecho3"], [1, 2, 3])
    out["ord_floor_cond"] = _ordinal(hh, ["eviv1", "eviv2", "eviv3"], [1, 2, 3])
    out["ord_condition"] = out[["ord_wall_cond", "ord_roof_cond", "ord_floor_cond"]].sum(
        axis=1, min_count=1
    )
    out["ord_wall_mat"] = _ordinal(
        hh,
        ["paredblolad", "paredpreb", "paredzocalo", "paredmad", "paredzinc", "paredfibras",
         "pareddes", "paredother"],
        [3, 3, 2, 2, 1, 1, 0, 1],
    )  # fmt: skip
    out["ord_floor_mat"] = _ordinal(
        hh,
        ["pisomoscer", "pisocemento", "pisomadera", "pisoother", "pisonatur", "piso0tiene"],
        [3, 2, 2, 1, 1, 0],
    )
    out["ord_roof_mat"] = _ordinal(
        hh, ["techoentrepiso", "techozinc", "techootro", "techocane"], [2, 1, 1, 0]
    )
    out["ord_water"] = _ordinal(hh, ["abastaguadentro", "abastaguafuera", "abastagua0"], [2, 1, 0])
    out["ord_elec"] = _ordinal(hh, ["public", "coopele", "planpri", "0elec"], [2, 2, 1, 0])
    out["ord_toilet"] = _ordinal(
        hh, ["sanitario2", "sanitario3", "sanitario5", "sanitario6", "sanitario1"], [3, 2, 1, 1, 0]
    )
    out["ord_cooking"] = _ordinal(
        hh, ["energcocinar2", "energcocinar3", "energcocinar4", "energcocinar1"], [2, 2, 1, 0]
    )
    out["ord_rubbish"] = _ordinal(
        hh,
        ["elimbasu1", "elimbasu2", "elimbasu3", "elimbasu4", "elimbasu5", "elimbasu6"],
        [2, 1, 1, 0, 0, 1],
    )
    out["ord_tenure"] = _ordinal(
        hh, ["tipovivi1", "tipovivi2", "tipovivi3", "tipovivi5", "tipovivi4"], [4, 3, 2, 1, 0]
    )
    deficits = (
        (out["ord_wall_mat"] <= 1).astype(int)
        + (out["ord_floor_mat"] <= 1).astype(int)
        + (hh["cielorazo"] == 0).astype(int)
        + (out["ord_water"] < 2).astype(int)
        + (out["ord_toilet"] <= 1).astype(int)
        + (out["ord_cooking"] <= 1).astype(int)
        + (hh["v14a"] == 0).astype(int)
        + (hh["refrig"] == 0).astype(int)
        + (out["ord_condition"] <= 5).astype(int)
    )
    out["ord_housing_deficits"] = deficits.astype(float)
    return out


def _member_aggregates(ind: pd.DataFrame) -> pd.DataFrame:
    """Aggregate individual rows to household features (indexed by ``idhogar``)."""
    age = ind["age"]
    esc = ind["escolari"].astype(float)
    inst_cols = [f"instlevel{i}" for i in range(1, 10)]
    inst = pd.Series(
        ind[inst_cols].to_numpy(dtype=float) @ np.arange(9, dtype=float), index=ind.index
    )
    inst[ind[inst_cols].sum(axis=1) == 0] = np.nan
    adult = age >= 18
    kid_school = (age >= 7) & (age <= 17)
    working_age = (age >= 19) & (age <= 64)
    f = pd.DataFrame(
        {
            "idhogar": ind["idhogar"],
            "n_members": 1,
            "n_age_0_5": (age <= 5).astype(int),
            "n_age_6_11": ((age >= 6) & (age <= 11)).astype(int),
            "n_age_12_17": ((age >= 12) & (age <= 17)).astype(int),
            "n_age_18_24": ((age >= 18) & (age <= 24)).astype(int),
            "n_age_25_39": ((age >= 25) & (age <= 39)).astype(int),
            "n_age_40_64": ((age >= 40) & (age <= 64)).astype(int),
            "n_age_65p": (age >= 65).astype(int),
            "n_adults": adult.astype(int),
            "n_working_age": ((age >= 19) & (age <= 64)).astype(int),
            "n_female": ind["female"].astype(int),
            "n_female_adults": (ind["female"].astype(bool) & adult).astype(int),
            "n_disabled": ind["dis"].astype(int),
            "age_mean": age.astype(float),
            "age_max": age.astype(float),
            "edu_adult_years": esc.where(adult),
            "edu_adult_inst": inst.where(adult),
            "edu_n_secondary": (adult & (inst >= 4)).astype(int),
            "edu_n_tertiary": (adult & (inst >= 7)).astype(int),
            "edu_n_no_primary": (adult & (inst <= 1)).astype(int),
            "edu_n_no_school": (adult & (esc == 0)).astype(int),
            "edu_kids_behind": ind["rez_esc"].where(kid_school).astype(float),
            "edu_kids_behind_flag": (kid_school & (ind["rez_esc"].fillna(0) > 0)).astype(int),
            "edu_kids_gap": (esc - (age - 6).clip(lower=0)).where(kid_school),
            "n_school_age": kid_school.astype(int),
            "n_free_union": ind["estadocivil2"].astype(int),
            "n_married": ind["estadocivil3"].astype(int),
            "n_sep_div_wid": ind[["estadocivil4", "estadocivil5", "estadocivil6"]].sum(axis=1),
            "n_single_adults": (ind["estadocivil7"].astype(bool) & adult).astype(int),
            "n_spouse": ind["parentesco2"].astype(int),
            "n_children": ind["parentesco3"].astype(int),
            "n_stepchildren": ind["parentesco4"].astype(int),
            "n_inlaws": ind[["parentesco5", "parentesco8", "parentesco10"]].sum(axis=1),
            "n_grandchildren": ind["parentesco6"].astype(int),
            "n_parents": ind["parentesco7"].astype(int),
            "n_siblings": ind["parentesco9"].astype(int),
            "n_other_family": ind["parentesco11"].astype(int),
            "n_non_family": ind["parentesco12"].astype(int),
            "n_wa_male": (ind["male"].astype(bool) & working_age).astype(int),
            "n_wa_female": (ind["female"].astype(bool) & working_age).astype(int),
            "n_wa_secondary": (working_age & (inst >= 4)).astype(int),
            "edu_wa_male": esc.where(ind["male"].astype(bool) & working_age),
            "edu_wa_female": esc.where(ind["female"].astype(bool) & working_age),
            "edu_wa_years": esc.where(working_age),
            "n_wa_tertiary": (working_age & (inst >= 7)).astype(int),
            "edu_spouse": esc.where(ind["parentesco2"].astype(bool)),
            # earning capacity of a working-age member: a Mincer-style index exp(r · schooling)
            # with r = MINCER_RETURN, women counted at FEMALE_EARNING_SHARE (fixed a priori,
            # not tuned: see the constants)
            "cap_mincer": np.exp(MINCER_RETURN * esc).where(working_age, 0.0)
            * np.where(ind["female"].astype(bool), FEMALE_EARNING_SHARE, 1.0),
            "cap_mincer_male": np.exp(MINCER_RETURN * esc).where(
                working_age & ind["male"].astype(bool), 0.0
            ),
            "cap_mincer_female": np.exp(MINCER_RETURN * esc).where(
                working_age & ind["female"].astype(bool), 0.0
            ),
        }
    )
    g = f.groupby("idhogar", sort=False)
    sums = g[[c for c in f.columns if c.startswith("n_") or c.startswith("edu_n_")]].sum()
    out = sums.copy()
    out["age_mean"] = g["age_mean"].mean()
    out["age_max"] = g["age_max"].max()
    out["edu_adult_max"] = g["edu_adult_years"].max()
    out["edu_adult_mean"] = g["edu_adult_years"].mean()
    out["edu_adult_min"] = g["edu_adult_years"].min()
    out["edu_adult_sum"] = g["edu_adult_years"].sum()
    out["edu_adult_inst_max"] = g["edu_adult_inst"].max()
    out["edu_adult_inst_mean"] = g["edu_adult_inst"].mean()
    out["edu_kids_behind_sum"] = g["edu_kids_behind"].sum()
    out["edu_kids_behind_max"] = g["edu_kids_behind"].max()
    out["edu_kids_behind_flag"] = g["edu_kids_behind_flag"].sum()
    out["edu_kids_gap_mean"] = g["edu_kids_gap"].mean()
    adults = out["n_adults"].replace(0, np.nan)
    for c in ["edu_n_secondary", "edu_n_tertiary", "edu_n_no_primary", "edu_n_no_school"]:
        out["sh_" + c.removeprefix("edu_n_")] = out[c] / adults
    out["sh_kids_behind"] = out["edu_kids_behind_flag"] / out["n_school_age"].replace(0, np.nan)
    out["sh_female_adults"] = out["n_female_adults"] / adults
    gens = (
        (out["n_parents"] > 0).astype(int)
        + 1
        + ((out["n_children"] + out["n_stepchildren"]) > 0).astype(int)
        + (out["n_grandchildren"] > 0).astype(int)
    )
    out["n_generations"] = gens
    out["edu_wa_male_max"] = g["edu_wa_male"].max()
    out["edu_wa_female_max"] = g["edu_wa_female"].max()
    out["edu_wa_sum"] = g["edu_wa_years"].sum()
    out["edu_spouse"] = g["edu_spouse"].max()
    out["edu_adult_sd"] = g["edu_adult_years"].std()
    out["age_sd"] = g["age_mean"].std()
    for c in ["cap_mincer", "cap_mincer_male", "cap_mincer_female"]:
        out[c] = g[c].sum()
    return out


def _ratios(x: pd.DataFrame) -> pd.DataFrame:
    size = x["hh_hhsize"].clip(lower=1)
    out = pd.DataFrame(index=x.index)
    rent = x["hh_v2a1"]
    out["pc_rent"] = rent / size
    out["pc_rent_per_room"] = rent / x["hh_rooms"].clip(lower=1)
    out["pc_phones"] = x["hh_qmobilephone"] / size
    out["pc_tablets"] = x["hh_v18q1"].fillna(0) / size
    out["pc_per_bedroom"] = size / x["hh_bedrooms"].clip(lower=1)
    out["pc_per_room"] = size / x["hh_rooms"].clip(lower=1)
    out["pc_rooms"] = x["hh_rooms"] / size
    out["pc_adults"] = x["n_adults"] / size
    out["pc_children"] = (x["n_age_0_5"] + x["n_age_6_11"] + x["n_age_12_17"]) / size
    out["pc_dependency"] = (size - x["n_working_age"]) / x["n_working_age"].clip(lower=1)
    out["pc_edu_years"] = x["edu_adult_sum"] / size
    # earning capacity: who could work, with how much schooling, for how many dependants
    out["cap_wa_share"] = x["n_working_age"] / size
    kids = x["n_age_0_5"] + x["n_age_6_11"] + x["n_age_12_17"]
    out["cap_kids_per_wa"] = kids / x["n_working_age"].clip(lower=1)
    out["cap_edu_wa_pc"] = x["edu_wa_sum"] / size
    out["cap_single_parent"] = ((x["n_spouse"] == 0) & (kids > 0)).astype(float)
    out["cap_female_head_alone"] = ((x["head_female"] == 1) & (x["n_spouse"] == 0)).astype(float)
    out["cap_no_wa_male"] = (x["n_wa_male"] == 0).astype(float)
    out["hh_size_gap"] = x["hh_tamviv"] - x["hh_hhsize"]
    assets = x[["hh_refrig", "hh_computer", "hh_television", "hh_v18q", "hh_mobilephone"]]
    out["pc_assets_n"] = assets.sum(axis=1)
    out["pc_assets"] = out["pc_assets_n"] / size
    out["cap_mincer_pc"] = x["cap_mincer"] / size
    out["cap_mincer_male_pc"] = x["cap_mincer_male"] / size
    out["cap_mincer_female_pc"] = x["cap_mincer_female"] / size
    out["pc_wa_tertiary"] = x["n_wa_tertiary"] / size
    # rent is heavy-tailed: the log keeps a linear member from being driven by a few rents
    out["pc_log_rent"] = np.log1p(out["pc_rent"])
    return out


def load_costa_rica(path: str | os.PathLike[str] | None = None) -> HouseholdData:
    """Load the Costa Rica file as one engineered row per household with a head.

    Parameters
    ----------
    path : path-like, optional
        The individual-level ``train.csv``; default :func:`default_costa_rica_path`
        (``$TARGETING_SHARED_DATA/costa-rica-ipm/train.csv`` when that variable is set).

    Returns
    -------
    HouseholdData
        ``X`` (engineered features, see the module docstring), ``label`` (1 = extreme poverty,
        the head's ``Target == 1``), ``target4`` (the head's ``Target``), ``groups`` (region
        name), ``ids`` / ``hh_id`` (``idhogar``), ``weights`` (None: the file has no weights),
        ``group_columns`` (region, urban, female_head, elderly_head, disabled_member) and
        ``notes`` (counts of dropped households and disagreeing members).

    Raises
    ------
    FileNotFoundError
        When the file is absent (set ``TARGETING_SHARED_DATA`` or pass ``path``).
    """
    file = Path(path) if path is not None else default_costa_rica_path()
    if not file.is_file():
        raise FileNotFoundError(
            f"Costa Rica data not found at {file}; pass path= or set TARGETING_SHARED_DATA to the "
            "folder holding costa-rica-ipm/train.csv"
        )
    ind = pd.read_csv(file)
    ind["idhogar"] = ind["idhogar"].astype(str)
    heads = ind[ind["parentesco1"] == 1].drop_duplicates("idhogar").set_index("idhogar")
    all_hh = ind["idhogar"].unique()
    n_no_head = int(len(all_hh) - len(heads))
    n_disagree = int((ind.groupby("idhogar")["Target"].nunique() > 1).sum())
    ind = ind[ind["idhogar"].isin(heads.index)]

    kept = [c for c in HOUSEHOLD_COLUMNS if c not in COLLAPSED_COLUMNS]
    x = heads[kept].add_prefix("hh_").astype(float)
    x = x.join(_housing_ordinals(heads))
    head = pd.DataFrame(
        {
            "head_age": heads["age"].astype(float),
            "head_female": heads["female"].astype(float),
            "head_disabled": heads["dis"].astype(float),
            "head_escolari": heads["escolari"].astype(float),
            "head_instlevel": _ordinal(
                heads, [f"instlevel{i}" for i in range(1, 10)], list(range(9))
            ),
            "head_civil": _ordinal(
                heads, [f"estadocivil{i}" for i in range(1, 8)], list(range(1, 8))
            ),
            "head_partnered": heads[["estadocivil2", "estadocivil3"]].sum(axis=1).astype(float),
        },
        index=heads.index,
    )
    x = x.join(head).join(_member_aggregates(ind).astype(float))
    x = x.join(_ratios(x))
    area = pd.DataFrame(
        {"region_" + col: heads[col].astype(float) for col in REGIONS}, index=heads.index
    )
    area["urban"] = heads["area1"].astype(float)
    x = x.join(area)
    x.index.name = "idhogar"
    assert not any(c in x.columns for c in FORBIDDEN_FEATURES)

    region = heads[list(REGIONS)].idxmax(axis=1).map(REGIONS)
    target4 = heads["Target"].to_numpy(dtype=int)
    group_columns = pd.DataFrame(
        {
            "region": region.to_numpy(),
            "urban": heads["area1"].to_numpy() == 1,
            "female_head": heads["female"].to_numpy() == 1,
            "elderly_head": heads["age"].to_numpy() >= 65,
            "disabled_member": x["n_disabled"].to_numpy() > 0,
        },
        index=x.index,
    )
    return HouseholdData(
        name="costa-rica-ipm",
        X=x.reset_index(drop=True),
        label=(target4 == 1).astype(int),
        groups=region.to_numpy(dtype=object),
        ids=x.index.to_numpy(dtype=object),
        weights=None,
        group_columns=group_columns.reset_index(drop=True),
        target4=target4,
        notes={
            "n_individuals": len(ind),
            "n_households_in_file": len(all_hh),
            "n_dropped_no_head": n_no_head,
            "n_households_members_disagree": n_disagree,
            "label_rule": "head's Target == 1 (households without a head dropped)",
        },
    )


def load_costa_rica_raw_heads(path: str | os.PathLike[str] | None = None) -> HouseholdData:
    """The *plain baseline's* design: the head rows' raw columns, one row per household.

    Same households, order, label, groups and group columns as :func:`load_costa_rica`, but
    ``X`` holds the household head's row of the file as is (every column but ``Id``,
    ``idhogar`` and ``Target``, as float; a non-numeric value would become NaN), without any
    engineering or member aggregation (``benchmarks/costa_rica_search.py``'s baseline).
    Columns entirely missing in a training fold are dropped per fold by the boosting models
    (DESIGN.md §9).

    Parameters
    ----------
    path : path-like, optional
        The individual-level ``train.csv`` (default :func:`default_costa_rica_path`).

    Returns
    -------
    HouseholdData
        Named ``costa-rica-ipm-raw``; ``notes["design"]`` says what ``X`` is.
    """
    data = load_costa_rica(path)
    file = Path(path) if path is not None else default_costa_rica_path()
    raw = pd.read_csv(file)
    raw["idhogar"] = raw["idhogar"].astype(str)
    heads = raw[raw["parentesco1"] == 1].drop_duplicates("idhogar").set_index("idhogar")
    x = heads.loc[data.ids].drop(columns=["Id", "Target"]).reset_index(drop=True)
    x = x.apply(pd.to_numeric, errors="coerce").astype(float)
    data.name = "costa-rica-ipm-raw"
    data.X = x
    data.notes = {**data.notes, "design": "head rows' raw columns (plain baseline)"}
    return data
