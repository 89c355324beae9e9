"""The city profile: a city's constants and its poverty line, read from one packaged YAML file.

Kota Serang's kecamatan, kelurahan counts, NIK prefixes, calibration targets, 2023 campaign and
the extreme-poverty line live in ``targeting/data/resources/city/kota_serang.yaml``; the schema,
the synthetic city, the forecast's calibration and every default extreme line read them here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["DEFAULT_LINE", "CityProfile", "Kecamatan", "load_city_profile"]

_TARGET_KEYS = {
    "households",
    "population",
    "extreme_households",
    "reached_share_of_extreme",
    "unreached_extreme_households",
    "reached_share_of_households",
    "persons_poverty_rate",
    "mean_household_size",
    "mean_extreme_household_size",
}


@dataclass(frozen=True)
class Kecamatan:
    """One kecamatan of the city.

    Attributes
    ----------
    name : str
    code : str
        Two-digit code; the NIK prefix is the city's ``bps_code`` + this code.
    kelurahan : int
        Number of kelurahan.
    household_share : float
        Share of the city's households.
    extreme_households : float
        Extremely poor households (KK) counted in it.
    """

    name: str
    code: str
    kelurahan: int
    household_share: float
    extreme_households: float


@dataclass(frozen=True)
class CityProfile:
    """A city's constants (see ``targeting/data/resources/city/*.yaml``).

    Attributes
    ----------
    name, province : str
    bps_code : str
        Four-digit regency/city code (the first four digits of a resident's NIK).
    extreme_line : float
        Extreme-poverty line, IDR per person per month.
    kecamatan : tuple of Kecamatan
        In BPS code order.
    targets : dict
        City-wide calibration targets of the synthetic city (households, population, ...).
    campaign_2023 : dict
        The observed 2023 verification campaign (forecast calibration).
    """

    name: str
    province: str
    bps_code: str
    extreme_line: float
    kecamatan: tuple[Kecamatan, ...]
    targets: dict[str, float] = field(default_factory=dict)
    campaign_2023: dict[str, Any] = field(default_factory=dict)

    @property
    def households(self) -> int:
        """The city's households (KK): the default size of the synthetic city."""
        return int(self.targets["households"])

    @property
    def kelurahan_counts(self) -> dict[str, int]:
        """Kecamatan name to its number of kelurahan, in BPS code order."""
        return {k.name: k.kelurahan for k in self.kecamatan}

    @property
    def extreme_by_kecamatan(self) -> dict[str, float]:
        """Kecamatan name to its extremely poor households (KK)."""
        return {k.name: k.extreme_households for k in self.kecamatan}

    @property
    def household_shares(self) -> dict[str, float]:
        """Kecamatan name to its share of the city's households."""
        return {k.name: k.household_share for k in self.kecamatan}

    @property
    def nik_prefixes(self) -> dict[str, str]:
        """Kecamatan name to the six-digit NIK prefix of its residents (e.g. ``"367301"``)."""
        return {k.name: self.bps_code + k.code for k in self.kecamatan}

    def kelurahan(self, kecamatan: str) -> list[str]:
        """The kelurahan of a kecamatan as the synthetic city names them (``"Serang 01"``...).

        Parameters
        ----------
        kecamatan : str

        Returns
        -------
        list of str
        """
        return [f"{kecamatan} {j:02d}" for j in range(1, self.kelurahan_counts[kecamatan] + 1)]

    @property
    def kelurahan_of(self) -> dict[str, str]:
        """Every listed kelurahan name to its kecamatan (``"Serang 01"`` → ``"Serang"``)."""
        return {kel: k.name for k in self.kecamatan for kel in self.kelurahan(k.name)}

    @property
    def listed_areas(self) -> frozenset[str]:
        """Every area name the profile lists: the city, its kecamatan and its kelurahan.

        These are public place names, safe to log; any other text found in an area column (a
        user's own city, or a head's name typed into ``kelurahan``) is not
        (:class:`targeting.data.privacy.AreaPseudonyms`).
        """
        return frozenset({self.name, *self.kelurahan_counts, *self.kelurahan_of})


def _problem(name: str, message: str) -> ValueError:
    return ValueError(f"city profile {name!r}: {message}")


@cache
def load_city_profile(name: str = "kota_serang") -> CityProfile:
    """Read a packaged city profile (``targeting/data/resources/city/<name>.yaml``).

    Parameters
    ----------
    name : str, default "kota_serang"

    Returns
    -------
    CityProfile
        Cached: every caller shares one (immutable) profile.

    Raises
    ------
    ValueError
        When no such profile is packaged, or a key is missing or of the wrong type.
    """
    folder = resources.files("targeting").joinpath("data/resources/city")
    source = folder.joinpath(f"{name}.yaml")
    if not source.is_file():
        known = sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.is_file())
        raise _problem(name, f"no such profile is packaged; known: {', '.join(known)}")
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    try:
        kecamatan = tuple(
            Kecamatan(
                name=str(k["name"]),
                code=str(k["code"]),
                kelurahan=int(k["kelurahan"]),
                household_share=float(k["household_share"]),
                extreme_households=float(k["extreme_households"]),
            )
            for k in raw["kecamatan"]
        )
        targets = {str(k): float(v) for k, v in raw["targets"].items()}
        profile = CityProfile(
            name=str(raw["name"]),
            province=str(raw["province"]),
            bps_code=str(raw["bps_code"]),
            extreme_line=float(raw["extreme_line"]),
            kecamatan=kecamatan,
            targets=targets,
            campaign_2023=dict(raw.get("campaign_2023") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _problem(name, f"key {exc} is missing or not a number; see kota_serang.yaml") from exc
    missing = sorted(_TARGET_KEYS - set(targets))
    if missing:
        raise _problem(name, f"targets lack {', '.join(missing)}")
    if abs(sum(profile.household_shares.values()) - 1.0) > 1e-9:
        raise _problem(name, "the kecamatan household_share values must sum to 1")
    return profile


DEFAULT_LINE: float = load_city_profile().extreme_line
"""The default extreme-poverty line (IDR per person per month): Kota Serang's, from its profile.

The one declaration: the experiment spec's ``data.extreme_line`` default, the model specs and the
PMT estimators' ``line`` default all read it here."""
