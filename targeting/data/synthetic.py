"""Synthetic Kota Serang: a seeded household population that needs no personal data (DESIGN.md §7).

The generator draws, for every household, a latent wealth factor first, then the proxies from it
(so the proxies are correlated with each other the way census proxies are), then log consumption
per capita from the proxies, the part of wealth the proxies do not see, area effects, noise and
a rare transitory shock (illness, job loss) that the proxies cannot see.
The kecamatan intercepts are chosen analytically from the generated latent so that the number of
extremely poor households in each kecamatan matches the P3KE figures; programme reach is calibrated
by a deterministic one-dimensional search so that about 12 % of households are reached and about
57 % of the extremely poor are among them.

It writes four tables:

``registry``
    One row per household (the DTSEN/DTKS export): proxies, programme status, fake PII.
``survey``
    An independent ~5 % sample of *other* households (as Susenas is) with consumption and weights.
``truth``
    Consumption and the extreme-poverty label of every registry household (evaluation only).
``kelurahan``
    The 67 kelurahan with their household counts and area effects.

and offers :class:`FieldOutcomeSimulator`, which answers a verification plan as the field would.

Kelurahan are named ``"<kecamatan> 01"``, ``"<kecamatan> 02"``... rather than by their real names:
the names are fake on purpose, so no synthetic row can be mistaken for a real place's data.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from targeting.data.city import DEFAULT_LINE, load_city_profile
from targeting.data.io import atomic_path
from targeting.data.schema import (
    CATEGORICAL_PROXIES,
    EDUCATION_LEVELS,
    KECAMATAN_KELURAHAN_COUNTS,
    OUTCOME_RESULTS,
    PROGRAMME_COLUMNS,
    REGISTRY_COLUMNS,
    SURVEY_COLUMNS,
)

__all__ = [
    "CALIBRATION_TARGETS",
    "DEFAULT_ASSESSMENT_SD",
    "FieldOutcomeSimulator",
    "SyntheticCity",
    "calibration_summary",
    "generate_city",
    "read_city",
    "write_city",
]

# --- calibration targets (DESIGN.md §7) -------------------------------------------------------

_CITY = load_city_profile()

REFERENCE_HOUSEHOLDS = _CITY.households
"""Kota Serang's households (KK, Disdukcapil 2021); count targets scale with n / this."""

EXTREME_BY_KECAMATAN: dict[str, float] = _CITY.extreme_by_kecamatan
"""Extremely poor KK per kecamatan (P3KE list, August 2023; they sum to 8,600)."""

CALIBRATION_TARGETS: dict[str, float] = {
    **_CITY.targets,
    "kecamatan": len(_CITY.kecamatan),
    "kelurahan": sum(_CITY.kelurahan_counts.values()),
}
"""City-wide targets at the reference size (counts scale with ``n_households``), from the city
profile (:func:`targeting.data.city.load_city_profile`)."""

_COUNT_TARGETS = {"households", "population", "extreme_households", "unreached_extreme_households"}

# Share of the city's households living in each kecamatan (approximately the BPS population shares).
_KECAMATAN_HOUSEHOLD_SHARE: dict[str, float] = _CITY.household_shares
# Lower programme reach (a shift of the reach score) where most unreached extreme poor live.
_REACH_OFFSET: dict[str, float] = {"Kasemen": -1.6, "Taktakan": -1.4}

_REFERENCE_DATE = np.datetime64("2025-07-01")

# --- consumption model ------------------------------------------------------------------------
# Log consumption per capita = kecamatan intercept + kelurahan effect + proxy effects (below)
# + _LATENT_LOADING * latent wealth + N(0, _NOISE_SD) - a transitory shock (probability
# _SHOCK_P, size about _SHOCK_MEAN). The last three are what a PMT cannot see. The shock is what
# makes the PMT realistic: with Gaussian noise alone, AUC 0.80 at a 4 % extreme share comes with
# exclusion error ~0.75; households pushed below the line by a shock look like anybody else, so
# they lower the AUC while the structurally poor stay well ranked (AUC ~0.80, EE ~0.55).
_LATENT_LOADING = 0.08
_NOISE_SD = 0.15
_AREA_SD = 0.08
_SHOCK_P = 0.022  # share of households hit by a transitory shock (illness, job loss) this year
_SHOCK_MEAN = 2.0  # its mean size in log consumption (a loss the proxies cannot see)
_SIZE_ELASTICITY = -0.27  # log consumption per capita on log household size
_SIZE_WEALTH = -0.13  # log of the expected number of other members on latent wealth

_EFFECTS: dict[str, dict[str, float]] = {
    "head_education": {
        "none": -0.12,
        "primary": -0.06,
        "junior": 0.0,
        "senior": 0.10,
        "tertiary": 0.30,
    },
    "floor_material": {"earth": -0.16, "bamboo_wood": -0.10, "cement": 0.0, "ceramic": 0.10},
    "wall_material": {
        "bamboo": -0.10,
        "wood": -0.07,
        "brick_unplastered": -0.04,
        "brick_plastered": 0.0,
    },
    "roof_material": {"thatch": -0.10, "zinc": -0.04, "tile": 0.0, "concrete": 0.07},
    "water_source": {"unprotected": -0.07, "protected_well": -0.03, "piped": 0.0, "bottled": 0.03},
    "sanitation": {"none": -0.10, "shared": -0.05, "private": 0.0},
    "cooking_fuel": {
        "wood": -0.12,
        "kerosene": -0.10,
        "lpg_3kg": 0.0,
        "lpg_large": 0.10,
        "electric": 0.10,
    },
    "electricity": {
        "none": -0.15,
        "non_pln": -0.10,
        "pln_450va": -0.08,
        "pln_900va": 0.0,
        "pln_1300va_plus": 0.10,
    },
    "head_sector": {
        "none": -0.04,
        "agriculture": -0.08,
        "industry": 0.02,
        "trade": 0.0,
        "services": 0.05,
        "informal": -0.06,
    },
    "tenure": {"own": 0.0, "rent": 0.02, "free": -0.05, "other": -0.03},
}
_ASSET_EFFECTS: dict[str, float] = {
    "has_car": 0.22,
    "has_ac": 0.16,
    "has_refrigerator": 0.07,
    "has_motorcycle": 0.05,
    "has_smartphone": 0.04,
    "has_gold": 0.05,
    "has_land": 0.04,
    "has_livestock": 0.02,
}

# Ordered proxies drawn from the latent wealth: (levels from poorest to richest, shares, loading).
_ORDERED_DRAWS: dict[str, tuple[list[str], list[float], float]] = {
    "head_education": (EDUCATION_LEVELS, [0.06, 0.30, 0.18, 0.33, 0.13], 0.60),
    "floor_material": (CATEGORICAL_PROXIES["floor_material"], [0.04, 0.05, 0.38, 0.53], 0.60),
    "wall_material": (CATEGORICAL_PROXIES["wall_material"], [0.05, 0.05, 0.15, 0.75], 0.55),
    "roof_material": (CATEGORICAL_PROXIES["roof_material"], [0.015, 0.135, 0.70, 0.15], 0.45),
    "water_source": (CATEGORICAL_PROXIES["water_source"], [0.08, 0.35, 0.15, 0.42], 0.45),
    "sanitation": (CATEGORICAL_PROXIES["sanitation"], [0.06, 0.14, 0.80], 0.50),
    "cooking_fuel": (CATEGORICAL_PROXIES["cooking_fuel"], [0.05, 0.01, 0.85, 0.07, 0.02], 0.50),
    "electricity": (
        ["none", "non_pln", "pln_450va", "pln_900va", "pln_1300va_plus"],
        [0.01, 0.02, 0.25, 0.45, 0.27],
        0.60,
    ),
}
# Assets: (share owning, loading on latent wealth).
_ASSET_DRAWS: dict[str, tuple[float, float]] = {
    "has_motorcycle": (0.80, 0.45),
    "has_car": (0.12, 0.60),
    "has_refrigerator": (0.65, 0.55),
    "has_ac": (0.12, 0.60),
    "has_smartphone": (0.85, 0.45),
    "has_gold": (0.30, 0.40),
    "has_land": (0.15, 0.30),
    "has_livestock": (0.07, -0.05),
}

# --- fake PII vocabularies (common Sundanese / Bantenese / Javanese names) ---------------------
_MALE_GIVEN = (
    "Ahmad Muhammad Agus Budi Dedi Asep Ujang Iwan Hendra Rudi Dadang Cecep Encep Jajang Yayan "
    "Bambang Joko Slamet Hasan Rohmat Saepul Endang Ade Eko Rahmat Wawan Nana Entis Ikhsan Aris "
    "Deden Maman Tatang Udin Jaenudin Sahrul Firman Andi Dodi Heri"
).split()
_FEMALE_GIVEN = (
    "Siti Nur Sri Dewi Euis Neneng Imas Yanti Rina Ratna Lilis Tati Aminah Fatimah Kartini Wati "
    "Nining Eti Iis Yuyun Enung Titin Ai Cucu Entin Popon Eneng Nia Rika Ani Umi Yati Elis Juju"
).split()
_MALE_FAMILY = (
    "Suhendi Hidayat Rohman Saputra Setiawan Kurniawan Hermawan Permana Gunawan Wijaya Santoso "
    "Susanto Pratama Ramdani Maulana Sopandi Mulyana Sukmana Nurdin Jaelani Syamsudin Hamdani "
    "Subagja Sudrajat Hasanudin Mulyadi Supriyadi Suryadi Sutrisno Firmansyah"
).split()
_FEMALE_FAMILY = (
    "Rahayu Lestari Wulandari Handayani Nurjanah Maryati Sulastri Suryani Komariah Halimah "
    "Fitriani Rosita Nurhayati Rohayati Suhartini Kurniasih Sumiati Hasanah Maesaroh Rukmini"
).split()
_STREETS = (
    "Melati|Mawar|Kenanga|Flamboyan|Pahlawan|Merdeka|Masjid Agung|Sultan Ageng|Syekh Nawawi|"
    "Kebon Jahe|Pasar Lama|Kampung Baru|Raya Pandeglang|Veteran|Ki Mas Jong|Bhayangkara|"
    "Lingkar Selatan|Tirtayasa|Cendana|Kamboja|Anggrek|Nusa Indah|Pramuka|Kihajar Dewantara|"
    "Banten Lama|Raya Cilegon|Trip Jamaksari|Ciwaru|Bayangkara|Sempu"
).split("|")


@dataclass
class SyntheticCity:
    """A synthetic Kota Serang.

    Attributes
    ----------
    survey : pandas.DataFrame
        An independent ~5 % sample of households that are *not* registry households (ids
        ``S000001``...), with :data:`~.schema.SURVEY_COLUMNS`: proxies, ``consumption_pc``
        (IDR per person per month) and ``weight`` (households represented, per kecamatan stratum).
    registry : pandas.DataFrame
        One row per household: :data:`~.schema.REGISTRY_COLUMNS` plus the fake PII columns
        ``nik_head``, ``head_name``, ``address`` and ``rt``, ``rw``. No consumption.
    truth : pandas.DataFrame
        ``household_id, kecamatan, kelurahan, consumption_pc, extreme`` for every registry
        household, for evaluation only.
    kelurahan : pandas.DataFrame
        ``kecamatan, kelurahan, n_households, area_effect``, one row per kelurahan.
    params : dict
        The generator's parameters (seed, n_households, extreme_line, calibrated intercepts...).
    """

    survey: pd.DataFrame
    registry: pd.DataFrame
    truth: pd.DataFrame
    kelurahan: pd.DataFrame
    params: dict = field(default_factory=dict)


# --- helpers ----------------------------------------------------------------------------------


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    short = total - int(parts.sum())
    if short > 0:
        order = np.argsort(-(exact - parts), kind="stable")
        parts[order[:short]] += 1
    return parts


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def _ordered_draw(
    rng: np.random.Generator, wealth: np.ndarray, shares: list[float], loading: float
) -> np.ndarray:
    """Draw an ordered category (0 = poorest) from a latent ``loading * wealth + noise``."""
    x = loading * wealth + np.sqrt(1.0 - loading**2) * rng.standard_normal(wealth.size)
    cuts = ndtri(np.cumsum(shares)[:-1])
    return np.searchsorted(cuts, x)


def _categorical_draw(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """Draw one category per row from a (rows × categories) matrix of logits."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    cum = np.cumsum(p, axis=1)
    u = rng.random(logits.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), logits.shape[1] - 1)


def _kelurahan_table(n_households: int, rng: np.random.Generator) -> pd.DataFrame:
    """Split the households over kecamatan (fixed shares) and kelurahan (random sizes)."""
    kecamatan = list(KECAMATAN_KELURAHAN_COUNTS)
    shares = np.array([_KECAMATAN_HOUSEHOLD_SHARE[k] for k in kecamatan])
    per_kec = _allocate(n_households, shares)
    rows = []
    for kec, n_kec in zip(kecamatan, per_kec, strict=True):
        n_kel = KECAMATAN_KELURAHAN_COUNTS[kec]
        sizes = _allocate(int(n_kec), rng.gamma(6.0, 1.0, n_kel))
        effects = rng.normal(0.0, _AREA_SD, n_kel)
        effects -= effects.mean()
        for j in range(n_kel):
            rows.append(
                {
                    "kecamatan": kec,
                    "kelurahan": f"{kec} {j + 1:02d}",
                    "n_households": int(sizes[j]),
                    "area_effect": round(float(effects[j]), 6),
                }
            )
    return pd.DataFrame(rows)


def _kecamatan_wealth(kel: pd.DataFrame) -> dict[str, float]:
    """A kecamatan wealth shift that makes the proxies poorer where extreme poverty is higher."""
    n_kec = kel.groupby("kecamatan", sort=False)["n_households"].sum()
    total = sum(EXTREME_BY_KECAMATAN.values())
    rate = {
        k: EXTREME_BY_KECAMATAN[k] / REFERENCE_HOUSEHOLDS / (n_kec[k] / n_kec.sum())
        for k in n_kec.index
    }
    overall = total / REFERENCE_HOUSEHOLDS
    return {k: -0.25 * float(ndtri(min(r, 0.5)) - ndtri(overall)) for k, r in rate.items()}


def _draw_households(
    rng: np.random.Generator, kel_index: np.ndarray, kel: pd.DataFrame, kec_wealth: dict[str, float]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Draw proxies for households living in kelurahan ``kel_index`` (rows of ``kel``).

    Returns the proxy frame (with ``kecamatan`` and ``kelurahan``), the log consumption per capita
    *without* the kecamatan intercept, and the proxy-explained part of it.
    """
    n = kel_index.size
    kec_names = kel["kecamatan"].to_numpy()[kel_index]
    area = kel["area_effect"].to_numpy()[kel_index]
    kec_shift = pd.Series(kec_names).map(kec_wealth).to_numpy(dtype=float)
    # Latent wealth: household part plus what the area shares (proxies see it partly).
    latent = rng.standard_normal(n)
    wealth = _standardise(latent + 1.5 * area + kec_shift)

    out: dict[str, np.ndarray] = {
        "kecamatan": kec_names,
        "kelurahan": kel["kelurahan"].to_numpy()[kel_index],
    }
    # Household composition: poorer households are larger.
    lam = np.exp(_SIZE_WEALTH * wealth + 0.25 * rng.standard_normal(n))
    lam *= 2.6 / lam.mean()
    hh_size = 1 + np.minimum(rng.poisson(lam), 13)
    head_age = np.clip(np.round(rng.normal(45.0, 12.5, n) + 2.0 * (hh_size == 1) * 10), 18, 95)
    head_age = head_age.astype(np.int64)
    others = hh_size - 1
    p_u5 = np.clip(0.16 - 0.004 * (head_age - 40) - 0.02 * wealth, 0.01, 0.4)
    n_u5 = rng.binomial(others, p_u5)
    n_school = rng.binomial(others - n_u5, np.clip(0.42 - 0.003 * (head_age - 45), 0.05, 0.7))
    adults = hh_size - n_u5 - n_school  # includes the head, so >= 1
    head_old = head_age >= 60
    n_elderly = head_old + rng.binomial(adults - 1, 0.07)
    head_female = rng.random(n) < np.clip(0.10 + 0.12 * head_old - 0.03 * wealth, 0.02, 0.6)
    head_works = rng.random(n) < np.clip(
        0.88 + 0.03 * wealth - 0.25 * head_old - 0.10 * head_female, 0.05, 0.99
    )
    n_workers = head_works + rng.binomial(adults - 1 - (n_elderly - head_old), 0.40)
    n_disabled = rng.binomial(hh_size, np.clip(0.012 - 0.006 * wealth, 0.002, 0.06))
    out.update(
        hh_size=hh_size,
        n_children_u5=n_u5,
        n_school_age=n_school,
        n_elderly=n_elderly,
        n_disabled=n_disabled,
        n_workers=n_workers,
        head_age=head_age,
    )
    floor_area = np.exp(
        np.log(42.0) + 0.28 * wealth + 0.18 * np.log(hh_size) + 0.30 * rng.standard_normal(n)
    )
    out["floor_area_m2"] = np.round(np.maximum(floor_area, 6.0), 1)
    out["head_female"] = head_female
    out["head_works"] = head_works
    for name, (share, loading) in _ASSET_DRAWS.items():
        x = loading * wealth + np.sqrt(1 - loading**2) * rng.standard_normal(n)
        out[name] = x > ndtri(1 - share)

    for name, (levels, shares, loading) in _ORDERED_DRAWS.items():
        out[name] = np.asarray(levels, dtype=object)[_ordered_draw(rng, wealth, shares, loading)]
    # Sector: none when the head does not work; otherwise poorer heads farm or work informally.
    sectors = CATEGORICAL_PROXIES["head_sector"]
    w = wealth[:, None]
    logits = np.hstack(
        [
            np.full((n, 1), -np.inf),
            -1.2 - 0.6 * w,  # agriculture
            -0.4 + 0.0 * w,  # industry
            0.0 + 0.1 * w,  # trade
            0.0 + 0.6 * w,  # services
            -0.3 - 0.5 * w,  # informal
        ]
    )
    sector = _categorical_draw(rng, logits)
    out["head_sector"] = np.where(head_works, np.asarray(sectors, dtype=object)[sector], "none")
    age = head_age[:, None]
    tenure_logits = np.hstack(
        [
            np.zeros((n, 1)),
            -2.0 - 0.04 * (age - 40) + 0.1 * w,
            -2.6 - 0.5 * w,
            np.full((n, 1), -4.0),
        ]
    )
    out["tenure"] = np.asarray(CATEGORICAL_PROXIES["tenure"], dtype=object)[
        _categorical_draw(rng, tenure_logits)
    ]

    frame = pd.DataFrame(out)
    # Proxy-explained log consumption per capita.
    proxy = np.zeros(n)
    for name, effects in _EFFECTS.items():
        proxy += frame[name].map(effects).to_numpy(dtype=float)
    for name, beta in _ASSET_EFFECTS.items():
        proxy += beta * frame[name].to_numpy(dtype=float)
    dependants = (n_u5 + n_school + n_elderly) / hh_size
    proxy += _SIZE_ELASTICITY * np.log(hh_size) - 0.20 * dependants + 0.18 * n_workers / hh_size
    proxy += 0.05 * head_works + 0.10 * np.log(out["floor_area_m2"] / hh_size)
    log_c = proxy + area + _LATENT_LOADING * latent + _NOISE_SD * rng.standard_normal(n)
    shocked = rng.random(n) < _SHOCK_P
    log_c -= shocked * np.maximum(rng.normal(_SHOCK_MEAN, 0.3 * _SHOCK_MEAN, n), 0.0)
    return frame, log_c, proxy


def _calibrate_intercepts(
    log_c: np.ndarray, kecamatan: np.ndarray, targets: dict[str, float], line: float
) -> dict[str, float]:
    """Choose each kecamatan's intercept so that ``targets[k]`` households fall below ``line``."""
    intercepts = {}
    for kec, target in targets.items():
        s = np.sort(log_c[kecamatan == kec])
        k = int(np.clip(round(target), 1, s.size - 1))
        intercepts[kec] = float(np.log(line) - 0.5 * (s[k - 1] + s[k]))
    return intercepts


def _calibrate_reach(
    poverty: np.ndarray,
    noise: np.ndarray,
    offset: np.ndarray,
    extreme: np.ndarray,
    reached_share: float,
    extreme_reached_share: float,
) -> tuple[np.ndarray, float, float]:
    """Find the weight on poverty in the reach score (bisection) that reaches the target shares.

    Returns the reach of each household, the weight and the score threshold (so other households,
    the survey's, can be reached by the same rule)."""
    n_reached = round(reached_share * poverty.size)

    def reached_for(b: float) -> np.ndarray:
        score = b * poverty + offset + noise
        cut = np.partition(score, score.size - n_reached)[score.size - n_reached]
        return score >= cut

    lo, hi = 0.0, 12.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if reached_for(mid)[extreme].mean() < extreme_reached_share:
            lo = mid
        else:
            hi = mid
    b = 0.5 * (lo + hi)
    score = b * poverty + offset + noise
    cut = float(np.partition(score, score.size - n_reached)[score.size - n_reached])
    return score >= cut, b, cut


@dataclass(frozen=True)
class _ReachProcess:
    """The programme reach process, calibrated on the registry and applied to anybody.

    ``poverty`` standardises the proxy-explained and total log consumption with the registry's
    means and deviations, so a survey household gets the same index a registry household with the
    same values would; ``weight`` and ``cut`` are the calibrated reach score's weight on poverty
    and threshold; ``pbi_cut`` the threshold of the PBI-JKN score among the unreached.
    """

    proxy_mean: float
    proxy_sd: float
    log_c_mean: float
    log_c_sd: float
    mix_mean: float
    mix_sd: float
    weight: float = float("nan")
    cut: float = float("nan")
    pbi_cut: float = float("nan")

    @classmethod
    def from_population(cls, proxy: np.ndarray, log_c: np.ndarray) -> _ReachProcess:
        mix = 0.7 * _standardise(proxy) + 0.3 * _standardise(log_c)
        return cls(
            float(proxy.mean()),
            float(proxy.std()),
            float(log_c.mean()),
            float(log_c.std()),
            float(mix.mean()),
            float(mix.std()),
        )

    def poverty(self, proxy: np.ndarray, log_c: np.ndarray) -> np.ndarray:
        """The poverty index the old targeting saw: mostly proxies, a little true poverty."""

        def z(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
            return (x - mean) / (sd if sd > 0 else 1.0)

        mix = 0.7 * z(proxy, self.proxy_mean, self.proxy_sd) + 0.3 * z(
            log_c, self.log_c_mean, self.log_c_sd
        )
        return -z(mix, self.mix_mean, self.mix_sd)


def _programme_receipt(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    reached: np.ndarray,
    poverty: np.ndarray,
    pbi_cut: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """PKH, BPNT and PBI-JKN receipt given reach (one function for registry and survey).

    Among the reached: BPNT (food) for most, PKH (conditional cash) more with children or
    elderly. PBI-JKN (health insurance premium subsidy) covers more households than PKH/BPNT:
    90 % of the reached and the top 22 % of the unreached by a noisy poverty score (the cut is
    computed on the registry and reused for the survey).
    """
    n = len(frame)
    has_pkh_member = (frame["n_children_u5"] + frame["n_school_age"] + frame["n_elderly"]) > 0
    u = rng.random(n)
    p_pkh = np.where(has_pkh_member.to_numpy(), 0.60, 0.20)
    pkh = reached & (u < p_pkh)
    bpnt = reached & ((u >= p_pkh) | (rng.random(n) < 0.70))
    pbi_score = poverty + rng.normal(0.0, 0.8, n)
    if pbi_cut is None:
        pbi_cut = float(np.quantile(pbi_score[~reached], 1 - 0.22)) if (~reached).any() else np.inf
    pbi = (reached & (rng.random(n) < 0.90)) | (~reached & (pbi_score >= pbi_cut))
    return pkh, bpnt, pbi, pbi_cut


def _reach_survey(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    log_c: np.ndarray,
    proxy: np.ndarray,
    process: _ReachProcess,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Programme receipt of households outside the registry, by the registry's reach process."""
    poverty = process.poverty(proxy, log_c)
    noise = rng.logistic(0.0, 1.0, len(frame))
    offset = frame["kecamatan"].map(_REACH_OFFSET).fillna(0.0).to_numpy(dtype=float)
    reached = process.weight * poverty + offset + noise >= process.cut
    pkh, bpnt, pbi, _ = _programme_receipt(rng, frame, reached, poverty, process.pbi_cut)
    return pkh, bpnt, pbi


def _nik(
    rng: np.random.Generator, kec_code: np.ndarray, head_age: np.ndarray, female: np.ndarray
) -> np.ndarray:
    """Fake NIKs: the city's code (3673) + kecamatan code + DDMMYY (day + 40 for women) + a unique
    4-digit serial."""
    n = head_age.size
    # A birth date such that the age on the reference date (1 July 2025) is exactly head_age.
    ref_year = int(_REFERENCE_DATE.astype("datetime64[Y]").astype(int)) + 1970
    ref_month = int(_REFERENCE_DATE.astype("datetime64[M]").astype(int)) % 12 + 1
    ref_day = int((_REFERENCE_DATE - _REFERENCE_DATE.astype("datetime64[M]")).astype(int)) + 1
    month = rng.integers(1, 13, n)
    year_if_before = ref_year - head_age.astype(np.int64)
    # Days in the month (the year matters only for February, which is before the reference).
    first = ((year_if_before - 1970) * 12 + month - 1).astype("datetime64[M]")
    days_in_month = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(
        int
    )
    day = 1 + np.floor(rng.random(n) * days_in_month).astype(np.int64)
    after_ref = (month > ref_month) | ((month == ref_month) & (day > ref_day))
    year = year_if_before - after_ref
    dd = day + 40 * female.astype(np.int64)
    stem = (
        int(_CITY.bps_code) * 10**12
        + kec_code.astype(np.int64) * 10**10
        + dd.astype(np.int64) * 10**8
        + month.astype(np.int64) * 10**6
        + (year % 100).astype(np.int64) * 10**4
    )
    serial = pd.Series(stem).groupby(stem).cumcount().to_numpy() + 1
    if serial.max() > 9999:
        raise ValueError("more than 9,999 heads share a kecamatan, sex and birth date")
    return (stem + serial).astype(str)


def _pii(
    rng: np.random.Generator, registry: pd.DataFrame, kel: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Fake names, NIKs, RT/RW and street addresses."""
    n = len(registry)
    female = registry["head_female"].to_numpy()
    given = np.where(
        female,
        np.asarray(_FEMALE_GIVEN, dtype=object)[rng.integers(0, len(_FEMALE_GIVEN), n)],
        np.asarray(_MALE_GIVEN, dtype=object)[rng.integers(0, len(_MALE_GIVEN), n)],
    )
    family = np.where(
        female,
        np.asarray(_FEMALE_FAMILY, dtype=object)[rng.integers(0, len(_FEMALE_FAMILY), n)],
        np.asarray(_MALE_FAMILY, dtype=object)[rng.integers(0, len(_MALE_FAMILY), n)],
    )
    names = pd.Series(given) + " " + pd.Series(family)
    kec_code = (registry["kecamatan"].map({k.name: int(k.code) for k in _CITY.kecamatan})).to_numpy(
        dtype=np.int64
    )
    nik = _nik(rng, kec_code, registry["head_age"].to_numpy(), female)
    # RT of about 60 households, RW of 6-10 RT; the order within a kelurahan is random.
    kel_size = registry["kelurahan"].map(kel.set_index("kelurahan")["n_households"]).to_numpy()
    n_rt = np.maximum(kel_size // 60, 1)
    rt_index = np.floor(rng.random(n) * n_rt).astype(np.int64)
    rw = rt_index // 8 + 1
    rt = rt_index % 8 + 1
    rt_s = pd.Series(rt).astype(str).str.zfill(3)
    rw_s = pd.Series(rw).astype(str).str.zfill(3)
    street = pd.Series(np.asarray(_STREETS, dtype=object)[rng.integers(0, len(_STREETS), n)])
    number = pd.Series(rng.integers(1, 120, n)).astype(str)
    address = (
        "Jl. "
        + street
        + " No. "
        + number
        + ", RT "
        + rt_s
        + "/RW "
        + rw_s
        + ", Kel. "
        + registry["kelurahan"].reset_index(drop=True).astype(str)
    )
    return {
        "nik_head": nik,
        "head_name": names.to_numpy(dtype=object),
        "address": address.to_numpy(dtype=object),
        "rt": rt_s.to_numpy(dtype=object),
        "rw": rw_s.to_numpy(dtype=object),
    }


# --- the generator ----------------------------------------------------------------------------


def generate_city(
    n_households: int = REFERENCE_HOUSEHOLDS,
    seed: int = 2026,
    survey_fraction: float = 0.05,
    extreme_line: float = _CITY.extreme_line,
    survey_seed: int | None = None,
) -> SyntheticCity:
    """Generate a synthetic Kota Serang.

    Parameters
    ----------
    n_households : int
        Registry households (KK), default the city profile's 206,600. Count targets scale with
        ``n_households / 206_600``.
    seed : int
        Seed; the same seed gives identical frames.
    survey_fraction : float
        Survey sample size as a share of the households of each kecamatan (stratum).
    extreme_line : float
        Extreme-poverty line, IDR per person per month.
    survey_seed : int, optional
        Seed of the survey's own streams (its households and their receipt); default from
        ``seed``. Another value draws an independent survey of the *same* city (same kelurahan
        effects, intercepts and reach process), e.g. the very large survey of the plan-yield
        benchmark's proxy oracle; the registry and truth do not change.

    Returns
    -------
    SyntheticCity

    Notes
    -----
    The survey households are drawn from the same process as, but independently of, the
    registry households (Susenas does not sample the registry). The kecamatan intercepts of log
    consumption are calibrated on the registry so that each kecamatan has its P3KE number of
    extremely poor households (scaled so they sum to 8,800); the survey uses the same intercepts.
    """
    if n_households < 1_000:
        raise ValueError("n_households must be at least 1,000 (67 kelurahan need households)")
    if not 0 < survey_fraction <= 1:
        raise ValueError("survey_fraction must be in (0, 1]")
    if extreme_line <= 0:
        raise ValueError("extreme_line must be > 0")
    # spawn(7) gives the same first six streams as spawn(6): the survey's receipt stream was
    # added without changing any other table of a seed
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    rng_area, rng_reg, rng_survey, rng_reach, rng_pii, rng_ids, rng_survey_reach = streams
    if survey_seed is not None:
        own = np.random.SeedSequence([seed, survey_seed]).spawn(2)
        rng_survey, rng_survey_reach = (np.random.default_rng(part) for part in own)
    scale = n_households / REFERENCE_HOUSEHOLDS

    kel = _kelurahan_table(n_households, rng_area)
    kec_wealth = _kecamatan_wealth(kel)
    kel_index = np.repeat(np.arange(len(kel)), kel["n_households"].to_numpy())
    frame, log_c, proxy = _draw_households(rng_reg, kel_index, kel, kec_wealth)

    extreme_total = CALIBRATION_TARGETS["extreme_households"]
    kec_targets = {
        k: v * scale * extreme_total / sum(EXTREME_BY_KECAMATAN.values())
        for k, v in EXTREME_BY_KECAMATAN.items()
    }
    kecamatan = frame["kecamatan"].to_numpy()
    intercepts = _calibrate_intercepts(log_c, kecamatan, kec_targets, extreme_line)
    mu = pd.Series(kecamatan).map(intercepts).to_numpy(dtype=float)
    consumption = np.exp(mu + log_c)
    extreme = consumption < extreme_line

    # Programme reach: the old targeting saw proxies (mostly) and poverty (a little), imperfectly.
    process = _ReachProcess.from_population(proxy, log_c)
    poverty = process.poverty(proxy, log_c)
    reach_noise = rng_reach.logistic(0.0, 1.0, n_households)
    offset = pd.Series(kecamatan).map(_REACH_OFFSET).fillna(0.0).to_numpy(dtype=float)
    reached, reach_weight, reach_cut = _calibrate_reach(
        poverty,
        reach_noise,
        offset,
        extreme,
        CALIBRATION_TARGETS["reached_share_of_households"],
        CALIBRATION_TARGETS["reached_share_of_extreme"],
    )
    pkh, bpnt, pbi, pbi_cut = _programme_receipt(rng_reach, frame, reached, poverty)
    process = dataclasses.replace(process, weight=reach_weight, cut=reach_cut, pbi_cut=pbi_cut)
    # A small share of the reached were verified at enrolment (with some field error).
    verified = reached & (rng_reach.random(n_households) < 0.05)
    flip = rng_reach.random(n_households) < 0.05
    status = np.where(
        verified,
        np.where(extreme ^ flip, "verified_extreme", "verified_not_extreme"),
        "unverified",
    ).astype(object)

    ids = pd.Series(rng_ids.permutation(n_households) + 1).astype(str).str.zfill(7)
    household_id = ("KK" + ids).to_numpy(dtype=object)
    registry = frame.copy()
    registry.insert(0, "household_id", household_id)
    registry["receives_pkh"] = pkh
    registry["receives_bpnt"] = bpnt
    registry["receives_pbi"] = pbi
    registry["verification_status"] = status
    pii = _pii(rng_pii, registry, kel)
    for name in ["nik_head", "head_name", "address", "rt", "rw"]:
        registry[name] = pii[name]
    registry = registry[REGISTRY_COLUMNS + ["nik_head", "head_name", "address", "rt", "rw"]]

    truth = pd.DataFrame(
        {
            "household_id": household_id,
            "kecamatan": kecamatan,
            "kelurahan": frame["kelurahan"].to_numpy(),
            "consumption_pc": np.round(consumption, 2),
            "extreme": extreme,
        }
    )

    # Survey: an independent stratified sample (by kecamatan) of other households.
    kec_of_kel = kel["kecamatan"].to_numpy()
    n_kec = kel.groupby("kecamatan", sort=False)["n_households"].sum()
    survey_parts, weights = [], []
    for kec in KECAMATAN_KELURAHAN_COUNTS:
        rows = np.flatnonzero(kec_of_kel == kec)
        size = max(round(survey_fraction * float(n_kec[kec])), 2)
        p = kel["n_households"].to_numpy()[rows] / n_kec[kec]
        survey_parts.append(np.sort(rng_survey.choice(rows, size=size, p=p)))
        weights.append(np.full(size, n_kec[kec] / size))
    s_index = np.concatenate(survey_parts)
    s_frame, s_log_c, s_proxy = _draw_households(rng_survey, s_index, kel, kec_wealth)
    s_mu = s_frame["kecamatan"].map(intercepts).to_numpy(dtype=float)
    survey = s_frame.copy()
    survey.insert(0, "household_id", [f"S{i + 1:06d}" for i in range(len(s_frame))])
    survey["consumption_pc"] = np.round(np.exp(s_mu + s_log_c), 2)
    survey["weight"] = np.concatenate(weights)
    # Programme receipt (Susenas asks it) by the registry's own reach process, on a stream of
    # its own so the registry, truth and survey proxies do not change with it.
    s_receipt = _reach_survey(rng_survey_reach, s_frame, s_log_c, s_proxy, process)
    for name, values in zip(PROGRAMME_COLUMNS, s_receipt, strict=True):
        survey[name] = values
    survey = survey[SURVEY_COLUMNS + PROGRAMME_COLUMNS]

    params = {
        "seed": int(seed),
        "n_households": int(n_households),
        "survey_fraction": float(survey_fraction),
        "extreme_line": float(extreme_line),
        "scale": float(scale),
        "kecamatan_intercepts": {k: round(v, 6) for k, v in intercepts.items()},
        "kecamatan_wealth_shift": {k: round(v, 6) for k, v in kec_wealth.items()},
        "latent_loading": _LATENT_LOADING,
        "noise_sd": _NOISE_SD,
        "area_sd": _AREA_SD,
        "shock_probability": _SHOCK_P,
        "shock_mean": _SHOCK_MEAN,
        "size_elasticity": _SIZE_ELASTICITY,
        "reach_poverty_weight": round(float(reach_weight), 6),
        "reach_cut": round(float(reach_cut), 6),
        "reference_date": str(_REFERENCE_DATE),
    }
    return SyntheticCity(
        survey=survey.reset_index(drop=True),
        registry=registry.reset_index(drop=True),
        truth=truth,
        kelurahan=kel,
        params=params,
    )


# --- calibration ------------------------------------------------------------------------------


def calibration_summary(city: SyntheticCity) -> pd.DataFrame:
    """Compare the generated city with the DESIGN.md §7 calibration targets.

    Parameters
    ----------
    city : SyntheticCity

    Returns
    -------
    pandas.DataFrame
        One row per target: ``quantity, target, generated, relative_error, within_10pct``.
        Count targets are scaled by ``n_households / 206_600``.

    Notes
    -----
    The persons poverty rate (BPS: 5.65 % in 2024) is measured as the share of persons living in
    extremely poor households (consumption per capita below ``extreme_line``); BPS uses its own
    (higher) line, so the match is by construction of the calibration, not of the definitions.
    The per-kecamatan targets are the P3KE counts, which sum to 8,600, scaled to the 8,800 total.
    """
    reg = city.registry
    truth = city.truth.set_index("household_id").loc[reg["household_id"]]
    extreme = truth["extreme"].to_numpy(dtype=bool)
    reached = (reg["receives_pkh"].astype(bool) | reg["receives_bpnt"].astype(bool)).to_numpy()
    size = reg["hh_size"].to_numpy(dtype=float)
    scale = len(reg) / REFERENCE_HOUSEHOLDS
    per_kec_scale = CALIBRATION_TARGETS["extreme_households"] / sum(EXTREME_BY_KECAMATAN.values())
    rows: list[tuple[str, float, float]] = []

    def add(name: str, key: str, value: float) -> None:
        target = CALIBRATION_TARGETS[key] * (scale if key in _COUNT_TARGETS else 1.0)
        rows.append((name, target, value))

    add("households (KK)", "households", float(len(reg)))
    add("population (persons)", "population", float(size.sum()))
    add("extremely poor KK", "extreme_households", float(extreme.sum()))
    kec = reg["kecamatan"].to_numpy()
    # largest first, as the P3KE figures are quoted
    for k, v in sorted(EXTREME_BY_KECAMATAN.items(), key=lambda kv: -kv[1]):
        rows.append(
            (
                f"extremely poor KK, {k}",
                v * scale * per_kec_scale,
                float((extreme & (kec == k)).sum()),
            )
        )
    add(
        "share of extreme-poor reached",
        "reached_share_of_extreme",
        float(reached[extreme].mean()) if extreme.any() else 0.0,
    )
    add(
        "unreached extreme-poor KK",
        "unreached_extreme_households",
        float((extreme & ~reached).sum()),
    )
    add("reached share of all KK", "reached_share_of_households", float(reached.mean()))
    add(
        "persons poverty rate (persons in extreme-poor KK)",
        "persons_poverty_rate",
        float(size[extreme].sum() / size.sum()),
    )
    add("mean household size", "mean_household_size", float(size.mean()))
    add(
        "mean size of extreme-poor KK",
        "mean_extreme_household_size",
        float(size[extreme].mean()) if extreme.any() else 0.0,
    )
    add("kecamatan", "kecamatan", float(reg["kecamatan"].nunique()))
    add("kelurahan", "kelurahan", float(reg["kelurahan"].nunique()))
    out = pd.DataFrame(rows, columns=["quantity", "target", "generated"])
    out["relative_error"] = (out["generated"] - out["target"]) / out["target"]
    out["within_10pct"] = out["relative_error"].abs() <= 0.10
    return out


# --- field outcomes ---------------------------------------------------------------------------


def _uniforms(keys: pd.Series, seed: int, stream: int) -> np.ndarray:
    """Deterministic uniforms in [0, 1) per key (splitmix64 of a stable hash, seed and stream)."""
    plain = pd.Series(keys.astype(str).to_numpy(dtype=object), dtype=object)
    h = pd.util.hash_pandas_object(plain, index=False, hash_key="targeting-synth1").to_numpy()
    with np.errstate(over="ignore"):
        z = h ^ np.uint64((seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03) % 2**64)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


DEFAULT_ASSESSMENT_SD = 0.04
"""Default SD of the field's error on log consumption (:class:`FieldOutcomeSimulator`)."""


class FieldOutcomeSimulator:
    """Answer a verification plan the way the field would.

    Each visit is not found, refused or moved at the given rates; otherwise the operator records
    the household's status as the field assesses it.

    Error model (why it looks like this)
    ------------------------------------
    A verification visit judges whether the household lives below the line from what the operator
    sees and is told, so its errors are about *where the household sits relative to the line*: a
    household far above or far below is classified right, one close to the line is a coin toss.
    The field's assessment of consumption is taken as ``ĉ = c · exp(ε)``, ``ε ~ N(0, σ²)`` with
    ``σ = assessment_sd``, and the visit records ``extreme_poor`` when ``ĉ < line``. A household at
    ``c`` is therefore misrecorded with probability ``Φ(−|ln(c / line)| / σ)``: 0.5 at the line,
    0.16 one ``σ`` away, 0.02 two ``σ`` away. The default ``σ = 0.04`` gives the first plan's
    visits on synthetic Serang the same share of wrong records as the former uniform 5 % (5.2 %,
    seed 101, default plan), but nearly all within ±12 % (3 σ) of the line; over the eligible
    unreached it adds ≈ 186 false and loses ≈ 156 true extreme-poor records, so the stock a
    complete verification would record is 3,815 against 3,785 true (+0.8 %). (σ = 0.10 and
    0.15 misrecord 12 % and 17 % of the plan's visits and record +6 % and +15 % of the stock.)
    The former default, a 5 % error on *every*
    visit whatever its consumption, recorded 5 % of households far above the line as extremely
    poor; with audit visits weighted by 1/π in the thousands that multiplied the design estimate
    of the stock several times over, which is not how verification errs. ``p_misclassified`` keeps
    that uniform error available (default 0) for stress tests.

    This error belongs to the field, not to the city: the generator's consumption, reach process
    and calibration targets are untouched, and ``truth`` keeps the true status.

    Outcomes are a deterministic function of the seed and each row's ``household_id`` and
    ``visit_date``: the same visit gives the same answer whatever else is in the plan.

    Parameters
    ----------
    truth : pandas.DataFrame
        At least ``household_id`` and ``extreme`` (bool), as :attr:`SyntheticCity.truth`, and
        ``consumption_pc`` when ``assessment_sd > 0``.
    seed : int
    p_not_found, p_refused, p_moved : float
        Probabilities of each non-response outcome per visit.
    p_misclassified : float, default 0
        Probability that a completed visit records the opposite of the assessed status, whatever
        the household's consumption (a uniform error; for stress tests).
    assessment_sd : float, default 0.04
        SD ``σ`` of the field's error on log consumption (0: the field records the truth).
    line : float, default the city profile's extreme line
        The line the field assesses against; must be the one ``truth["extreme"]`` was made with.
    """

    def __init__(
        self,
        truth: pd.DataFrame,
        seed: int = 0,
        p_not_found: float = 0.04,
        p_refused: float = 0.02,
        p_moved: float = 0.03,
        p_misclassified: float = 0.0,
        assessment_sd: float = DEFAULT_ASSESSMENT_SD,
        line: float = DEFAULT_LINE,
    ) -> None:
        rates = [p_not_found, p_refused, p_moved, p_misclassified]
        if any(not 0 <= p <= 1 for p in rates) or p_not_found + p_refused + p_moved > 1:
            raise ValueError(
                "probabilities must be in [0, 1] and the non-response ones sum to <= 1"
            )
        if not assessment_sd >= 0:
            raise ValueError(f"assessment_sd must be >= 0, got {assessment_sd!r}")
        indexed = truth.set_index(truth["household_id"].astype(str))
        self._extreme = indexed["extreme"].astype(bool)
        self._log_ratio: pd.Series | None = None
        if assessment_sd > 0:
            if "consumption_pc" not in truth:
                raise KeyError(
                    "the truth table lacks column 'consumption_pc', which the field's assessment "
                    "error needs; pass assessment_sd=0 to record the true status"
                )
            c = indexed["consumption_pc"].astype(float)
            disagree = int(((c < line) != self._extreme).sum())
            if disagree:
                raise ValueError(
                    f"{disagree} household(s) of the truth table have 'extreme' unlike "
                    f"consumption_pc < line={line:g}; pass the line the city was generated with"
                )
            self._log_ratio = np.log(c / line)
        self.seed = int(seed)
        self.p_not_found = p_not_found
        self.p_refused = p_refused
        self.p_moved = p_moved
        self.p_misclassified = p_misclassified
        self.assessment_sd = float(assessment_sd)
        self.line = float(line)

    def misrecord_probability(self, household_id: pd.Series) -> np.ndarray:
        """P(a completed visit records the wrong status) for each household (both errors)."""
        ids = household_id.astype(str)
        q = np.zeros(len(ids))
        if self._log_ratio is not None:
            r = self._log_ratio.reindex(ids).to_numpy(dtype=float)
            q = ndtr(-np.abs(r) / self.assessment_sd)
        u = self.p_misclassified
        return q * (1 - u) + (1 - q) * u

    def respond(self, plan: pd.DataFrame) -> pd.DataFrame:
        """Return the outcome of every planned visit.

        Parameters
        ----------
        plan : pandas.DataFrame
            At least ``household_id, visit_date, operator``.

        Returns
        -------
        pandas.DataFrame
            ``household_id, visit_date, operator, result`` in the plan's row order, with
            ``result`` one of :data:`~.schema.OUTCOME_RESULTS`.

        Raises
        ------
        KeyError
            If a column is missing or a household is not in ``truth``.
        """
        missing = [c for c in ["household_id", "visit_date", "operator"] if c not in plan]
        if missing:
            raise KeyError(f"the plan lacks column(s) {missing}")
        ids = plan["household_id"].astype(str).reset_index(drop=True)
        unknown = ~ids.isin(self._extreme.index)
        if unknown.any():
            raise KeyError(f"{int(unknown.sum())} planned household(s) are not in the truth table")
        dates = pd.to_datetime(plan["visit_date"].reset_index(drop=True)).dt.strftime("%Y-%m-%d")
        key = ids + "|" + dates.astype(str)
        u_contact = _uniforms(key, self.seed, 1)
        u_class = _uniforms(key, self.seed, 2)
        extreme = self._extreme.reindex(ids).to_numpy(dtype=bool)
        assessed = extreme
        if self._log_ratio is not None:
            eps = ndtri(np.clip(_uniforms(key, self.seed, 3), 1e-12, 1 - 1e-12))
            r = self._log_ratio.reindex(ids).to_numpy(dtype=float)
            assessed = r + self.assessment_sd * eps < 0
        recorded = assessed ^ (u_class < self.p_misclassified)
        result = np.where(recorded, OUTCOME_RESULTS[0], OUTCOME_RESULTS[1]).astype(object)
        c1 = self.p_not_found
        c2 = c1 + self.p_refused
        c3 = c2 + self.p_moved
        result = np.where(u_contact < c3, "moved", result)
        result = np.where(u_contact < c2, "refused", result)
        result = np.where(u_contact < c1, "not_found", result)
        return pd.DataFrame(
            {
                "household_id": ids.to_numpy(dtype=object),
                "visit_date": dates.to_numpy(dtype=object),
                "operator": plan["operator"].astype(str).to_numpy(dtype=object),
                "result": result,
            }
        )


# --- files ------------------------------------------------------------------------------------

_TABLES = ["survey", "registry", "truth", "kelurahan"]


def write_city(city: SyntheticCity, folder: Path) -> dict[str, Path]:
    """Write the city as Parquet files (plus ``params.json``) into ``folder``.

    Parameters
    ----------
    city : SyntheticCity
    folder : pathlib.Path
        Created if needed.

    Returns
    -------
    dict of str to pathlib.Path
        ``survey``, ``registry``, ``truth``, ``kelurahan`` (``.parquet``), ``params`` (``.json``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in _TABLES:
        path = folder / f"{name}.parquet"
        frame: pd.DataFrame = getattr(city, name)
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        paths[name] = path
    path = folder / "params.json"
    text = json.dumps(city.params, indent=2, sort_keys=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    paths["params"] = path
    return paths


def read_city(folder: Path) -> SyntheticCity:
    """Read a city written by :func:`write_city`.

    Parameters
    ----------
    folder : pathlib.Path

    Returns
    -------
    SyntheticCity
    """
    folder = Path(folder)
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _TABLES}
    params_path = folder / "params.json"
    params = json.loads(params_path.read_text(encoding="utf-8")) if params_path.exists() else {}
    return SyntheticCity(params=params, **tables)
