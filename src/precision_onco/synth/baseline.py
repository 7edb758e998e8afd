"""Baseline patients of the synthetic cohort: demographics, tumour and genome at diagnosis.

Prevalences follow DESIGN §5 (see docs/synthetic_cohort.md for sources):
drivers are drawn per cancer type and histology with the known mutual
exclusivities (EGFR/KRAS/ALK/BRAF in lung adenocarcinoma, BRAF/NRAS in
melanoma, RAS/BRAF in colorectal cancer) and associations (EGFR with
never-smokers, KRAS and STK11 with smokers, BRAF V600E with MSI-H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from precision_onco.errors import ConfigError
from precision_onco.synth.genome import Panel

__all__ = ["Baseline", "simulate_baseline"]

#: A missing text value in np.where (an object array, as a bare None would give).
_NONE = np.array(None, dtype=object)

# (histology code, share) per cancer type
_HISTOLOGY = {
    "NSCLC": (("LUAD", 0.70), ("LUSC", 0.30)),
    "MEL": (("SKCM", 1.0),),
    "COADREAD": (("COAD", 0.70), ("READ", 0.30)),
    "BRCA": (("IDC", 0.80), ("ILC", 0.20)),
}
# median age at diagnosis, sd
_AGE = {"NSCLC": (68, 9), "MEL": (64, 13), "COADREAD": (64, 11), "BRCA": (60, 12)}
_FEMALE = {"NSCLC": 0.45, "MEL": 0.40, "COADREAD": 0.45, "BRCA": 0.99}
# median non-synonymous mutations per Mb and log-sd
_TMB = {"NSCLC": (8.0, 0.8), "MEL": (12.0, 1.0), "COADREAD": (3.5, 0.6), "BRCA": (2.5, 0.6)}
_ECOG = (0.32, 0.46, 0.16, 0.06)

# Mutually exclusive lung drivers by (histology, ever-smoker): (event, share)
_LUNG_DRIVERS = {
    ("LUAD", False): (("EGFR", 0.50), ("ALK", 0.12), ("KRAS", 0.10), ("BRAF", 0.03)),
    ("LUAD", True): (("EGFR", 0.12), ("ALK", 0.03), ("KRAS", 0.45), ("BRAF", 0.03)),
    ("LUSC", False): (("EGFR", 0.03), ("KRAS", 0.05)),
    ("LUSC", True): (("EGFR", 0.02), ("KRAS", 0.08)),
}
_KRAS_LUNG = (
    ("p.G12C", 0.45),
    ("p.G12V", 0.2),
    ("p.G12D", 0.15),
    ("p.G12A", 0.08),
    ("p.G13D", 0.06),
    ("p.Q61H", 0.06),
)
_KRAS_CRC = (
    ("p.G12D", 0.35),
    ("p.G12V", 0.25),
    ("p.G13D", 0.17),
    ("p.G12C", 0.08),
    ("p.A146T", 0.07),
    ("p.Q61H", 0.04),
    ("p.G12A", 0.04),
)
_EGFR = (("p.L858R", 0.45), ("p.E746_A750del", 0.40), ("p.L747_P753delinsS", 0.15))
_TP53_HOT = ("p.R175H", "p.R248Q", "p.R248W", "p.R273H", "p.R273C", "p.R282W", "p.Y220C", "p.G245S")
_PIK3CA = (
    ("p.H1047R", 0.35),
    ("p.E545K", 0.25),
    ("p.E542K", 0.15),
    ("p.H1047L", 0.08),
    ("p.Q546R", 0.07),
    ("p.C420R", 0.10),
)
# gene-level (non-hotspot) events: (gene, probability, kind) with kind lof or missense
_CO_MUTATIONS = {
    "NSCLC": (
        ("CDKN2A", 0.20, "lof"),
        ("NF1", 0.10, "lof"),
        ("SMARCA4", 0.07, "lof"),
        ("KMT2D", 0.10, "lof"),
        ("PIK3CA", 0.06, "hot"),
        ("ARID1A", 0.07, "lof"),
    ),
    "MEL": (
        ("CDKN2A", 0.35, "lof"),
        ("PTEN", 0.12, "lof"),
        ("TP53", 0.15, "hot"),
        ("ARID1A", 0.10, "lof"),
    ),
    "COADREAD": (
        ("PIK3CA", 0.15, "hot"),
        ("SMAD4", 0.12, "lof"),
        ("FBXW7", 0.10, "missense"),
        ("CTNNB1", 0.03, "missense"),
        ("ARID1A", 0.08, "lof"),
    ),
    "BRCA": (
        ("GATA3", 0.12, "lof"),
        ("MAP3K1", 0.09, "lof"),
        ("KMT2C", 0.08, "lof"),
        ("ESR1", 0.04, "missense"),
        ("PTEN", 0.05, "lof"),
    ),
}


@dataclass(frozen=True)
class Baseline:
    """Baseline state of a chunk of simulated patients.

    ``patients`` has one row per patient (position ``pidx``); ``drivers``
    lists the driver events as ``(pidx, gene, hgvsp_short or kind)``.
    """

    patients: pd.DataFrame
    drivers: pd.DataFrame


def _pick(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    names = [o[0] for o in options]
    p = np.array([o[1] for o in options])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _dates(rng: np.random.Generator, n: int, start: str, end: str) -> np.ndarray:
    lo = np.datetime64(start, "D").astype(np.int64)
    hi = np.datetime64(end, "D").astype(np.int64)
    return (lo + rng.integers(0, hi - lo + 1, n)).astype("datetime64[D]")


def _clinical(
    rng: np.random.Generator,
    cancer: np.ndarray,
    *,
    first_id: int,
    prefix: str,
    diagnosis: tuple[str, str],
) -> pd.DataFrame:
    n = len(cancer)
    df = pd.DataFrame({"pidx": np.arange(n), "cancer_type": cancer})
    ids = [f"{prefix}{first_id + i:07d}" for i in range(n)]
    df["patient_id"] = ids
    df["tumor_sample_id"] = [f"{i}-T1" for i in ids]
    df["normal_sample_id"] = [f"{i}-N1" for i in ids]
    hist = np.empty(n, dtype=object)
    age = np.empty(n)
    female = np.empty(n, dtype=bool)
    for ct, opts in _HISTOLOGY.items():
        m = cancer == ct
        k = int(m.sum())
        if not k:
            continue
        codes = [o[0] for o in opts]
        shares = np.array([o[1] for o in opts])
        hist[m] = np.array(codes, dtype=object)[rng.choice(len(codes), size=k, p=shares)]
        mu, sd = _AGE[ct]
        age[m] = rng.normal(mu, sd, k)
        female[m] = rng.random(k) < _FEMALE[ct]
    df["oncotree_code"] = hist
    df["age_at_diagnosis"] = np.clip(np.round(age), 22, 92).astype(int)
    df["sex"] = np.where(female, "F", "M")
    df["diagnosis_date"] = _dates(rng, n, *diagnosis)
    df["birth_year"] = (
        df["diagnosis_date"].dt.year - df["age_at_diagnosis"] - (rng.random(n) < 0.5)
    ).astype(int)
    # smoking: lung strongly, others background
    p_ever = np.where(cancer == "NSCLC", np.where(hist == "LUSC", 0.95, 0.78), 0.45)
    ever = rng.random(n) < p_ever
    current = ever & (rng.random(n) < np.where(cancer == "NSCLC", 0.40, 0.30))
    df["smoking_status"] = np.where(~ever, "never", np.where(current, "current", "former"))
    stage = rng.choice(["IIIB", "IIIC", "IV"], size=n, p=[0.08, 0.07, 0.85])
    df["stage"] = stage
    df["ecog"] = rng.choice(4, size=n, p=_ECOG)
    df["autoimmune_disease"] = (rng.random(n) < 0.04).astype(int)
    df["diabetes"] = (rng.random(n) < 0.10 + 0.004 * np.clip(age - 60, 0, None)).astype(int)
    df["ild_history"] = (rng.random(n) < np.where(cancer == "NSCLC", 0.03, 0.01)).astype(int)
    return df


def _subtypes(rng: np.random.Generator, df: pd.DataFrame) -> None:
    """MSI status (tested in all colorectal cancers, 15% of others) and HR status (breast)."""
    n = len(df)
    cancer = df["cancer_type"].to_numpy()
    hist = df["oncotree_code"].to_numpy()
    msi_h = rng.random(n) < np.where(cancer == "COADREAD", 0.04, 0.01)
    tested = (cancer == "COADREAD") | (rng.random(n) < 0.15)
    df["msi_status"] = np.where(tested, np.where(msi_h, "MSI-H", "MSS"), _NONE)
    hr_pos = (cancer == "BRCA") & (rng.random(n) < np.where(hist == "ILC", 0.95, 0.78))
    df["hr_status"] = np.where(cancer == "BRCA", np.where(hr_pos, "positive", "negative"), _NONE)
    df["her2_status"] = np.where(cancer == "BRCA", "negative", _NONE)


def _markers(rng: np.random.Generator, df: pd.DataFrame, lung_driver: np.ndarray) -> None:
    """PD-L1 (NSCLC; lower with EGFR/ALK drivers), ALK and germline BRCA results."""
    n = len(df)
    cancer = df["cancer_type"].to_numpy()
    u = rng.random(n)
    p_high = np.where(np.isin(lung_driver, ["EGFR", "ALK"]), 0.15, 0.33)
    tps = np.where(
        u < p_high,
        rng.uniform(50, 100, n),
        np.where(u < p_high + 0.35, rng.uniform(1, 49.9, n), 0.0),
    )
    df["pdl1_tps"] = np.where(cancer == "NSCLC", np.round(tps), np.nan)
    hr_pos = (df["hr_status"] == "positive").to_numpy()
    gbrca = rng.random(n) < np.where(hr_pos, 0.035, 0.12)
    df["germline_brca"] = np.where(
        cancer == "BRCA", np.where(gbrca, "pathogenic", "negative"), _NONE
    )
    alk = lung_driver == "ALK"
    df["alk_status"] = np.where(cancer == "NSCLC", np.where(alk, "rearranged", "negative"), _NONE)


#: A driver event of a patient: (gene, hgvsp_short or kind).
_Event = tuple[str, str]


def _lung_driver(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    """The mutually exclusive lung driver of ``options`` (one uniform draw against their
    cumulative shares), '' for none."""
    r = rng.random()
    acc = 0.0
    for name, share in options:
        acc += share
        if r < acc:
            return name
    return ""


def _lung_events(
    rng: np.random.Generator, driver: str, *, squamous: bool
) -> tuple[list[_Event], float]:
    """NSCLC: the lung ``driver``'s mutation, STK11 and KEAP1 (more often with KRAS, never
    with EGFR or ALK); and the probability of a TP53 mutation."""
    events: list[_Event] = []
    if driver == "EGFR":
        events.append(("EGFR", _pick(rng, _EGFR)))
    elif driver == "KRAS":
        events.append(("KRAS", _pick(rng, _KRAS_LUNG)))
    elif driver == "BRAF":
        events.append(("BRAF", "p.V600E"))
    p_stk11 = 0.28 if driver == "KRAS" else 0.10
    if rng.random() < p_stk11 and driver not in ("EGFR", "ALK"):
        events.append(("STK11", "lof"))
    if rng.random() < (0.20 if driver == "KRAS" else 0.13) and driver not in ("EGFR", "ALK"):
        events.append(("KEAP1", "missense"))
    return events, 0.80 if squamous else 0.42


def _melanoma_events(rng: np.random.Generator) -> tuple[list[_Event], float]:
    """Melanoma: BRAF V600E/K, NRAS Q61 or NF1 (mutually exclusive); TP53 only among the
    co-mutations (probability 0 here)."""
    r = rng.random()
    if r < 0.45:
        return [("BRAF", "p.V600E" if rng.random() < 0.85 else "p.V600K")], 0.0
    if r < 0.70:
        return [("NRAS", _pick(rng, (("p.Q61R", 0.5), ("p.Q61K", 0.35), ("p.Q61L", 0.15))))], 0.0
    if r < 0.85:
        return [("NF1", "lof")], 0.0
    return [], 0.0


def _colorectal_events(rng: np.random.Generator, *, msi_h: bool) -> tuple[list[_Event], float]:
    """Colorectal cancer: BRAF V600E or KRAS when MSI-H, else KRAS, NRAS or BRAF V600E
    (mutually exclusive); APC (less often when MSI-H); and the probability of TP53."""
    events: list[_Event] = []
    r = rng.random()
    if msi_h:
        if r < 0.40:
            events.append(("BRAF", "p.V600E"))
        elif r < 0.60:
            events.append(("KRAS", _pick(rng, _KRAS_CRC)))
    elif r < 0.40:
        events.append(("KRAS", _pick(rng, _KRAS_CRC)))
    elif r < 0.44:
        events.append(("NRAS", _pick(rng, (("p.Q61K", 0.5), ("p.G12D", 0.5)))))
    elif r < 0.507:
        events.append(("BRAF", "p.V600E"))
    if rng.random() < (0.30 if msi_h else 0.80):
        events.append(("APC", "lof"))
    return events, 0.30 if msi_h else 0.62


def _breast_events(
    rng: np.random.Generator, *, hr_pos: bool, lobular: bool
) -> tuple[list[_Event], float]:
    """Breast cancer: PIK3CA (mostly HR-positive), else AKT1 E17K (HR-positive); CDH1 in
    lobular carcinoma; and the probability of TP53 (mostly HR-negative)."""
    events: list[_Event] = []
    if rng.random() < (0.40 if hr_pos else 0.10):
        events.append(("PIK3CA", _pick(rng, _PIK3CA)))
    elif hr_pos and rng.random() < 0.05:
        events.append(("AKT1", "p.E17K"))
    if lobular and rng.random() < 0.6:
        events.append(("CDH1", "lof"))
    return events, 0.25 if hr_pos else 0.80


def _tp53_event(rng: np.random.Generator) -> str:
    """A TP53 mutation: one of the hotspots (60 %), else a gene-level missense."""
    hot = rng.random() < 0.6
    return str(rng.choice(_TP53_HOT)) if hot else "missense"


def _co_mutation_hotspot(rng: np.random.Generator, gene: str) -> str:
    """A hotspot co-mutation of ``gene``: PIK3CA's by their shares, else one of TP53's."""
    return _pick(rng, _PIK3CA) if gene == "PIK3CA" else str(rng.choice(_TP53_HOT))


def _with_co_mutations(
    rng: np.random.Generator, events: list[_Event], *, cancer: str
) -> list[_Event]:
    """``events`` and the cancer type's gene-level co-mutations, each drawn with its
    probability and kept unless the gene is among the patient's last four events."""
    events = list(events)
    for gene, p, kind in _CO_MUTATIONS[cancer]:
        if rng.random() < p and not any(g == gene for g, _ in events[-4:]):
            events.append((gene, _co_mutation_hotspot(rng, gene) if kind == "hot" else kind))
    return events


def _patient_events(
    rng: np.random.Generator,
    u_tp53: float,
    *,
    cancer: str,
    histology: str,
    smoker: bool,
    msi_h: bool,
    hr_pos: bool,
) -> tuple[str, list[_Event]]:
    """One patient's lung driver ('' for none) and driver events: the cancer type's, TP53
    (when ``u_tp53`` falls below its probability), then the co-mutations."""
    driver = ""
    if cancer == "NSCLC":
        driver = _lung_driver(rng, _LUNG_DRIVERS[(histology, smoker)])
        events, p_tp53 = _lung_events(rng, driver, squamous=histology == "LUSC")
    elif cancer == "MEL":
        events, p_tp53 = _melanoma_events(rng)
    elif cancer == "COADREAD":
        events, p_tp53 = _colorectal_events(rng, msi_h=msi_h)
    else:  # BRCA
        events, p_tp53 = _breast_events(rng, hr_pos=hr_pos, lobular=histology == "ILC")
    if u_tp53 < p_tp53:
        events.append(("TP53", _tp53_event(rng)))
    return driver, _with_co_mutations(rng, events, cancer=cancer)


def _drivers(rng: np.random.Generator, df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The driver events of every patient, ``(pidx, gene, hgvsp_short or kind)``, and each
    one's lung driver (EGFR, ALK, KRAS, BRAF, or '')."""
    n = len(df)
    u_tp53 = rng.random(n)
    cancer = df["cancer_type"].to_numpy()
    hist = df["oncotree_code"].to_numpy()
    smoker = (df["smoking_status"] != "never").to_numpy()
    msi_h = (df["msi_status"] == "MSI-H").to_numpy()
    hr_pos = (df["hr_status"] == "positive").to_numpy()
    lung_driver = np.full(n, "", dtype=object)
    rows: list[tuple[int, str, str]] = []
    for i in range(n):
        lung_driver[i], events = _patient_events(
            rng,
            float(u_tp53[i]),
            cancer=str(cancer[i]),
            histology=str(hist[i]),
            smoker=bool(smoker[i]),
            msi_h=bool(msi_h[i]),
            hr_pos=bool(hr_pos[i]),
        )
        rows += [(i, gene, event) for gene, event in events]
    drivers = pd.DataFrame(rows, columns=["pidx", "gene", "event"])
    return drivers, lung_driver


def simulate_baseline(
    rng: np.random.Generator,
    n: int,
    *,
    cancer_mix: dict[str, float],
    first_id: int,
    id_prefix: str,
    diagnosis: tuple[str, str],
    panel: Panel,
) -> Baseline:
    """Simulate ``n`` patients at diagnosis (no treatment yet).

    Parameters
    ----------
    rng : Generator
        The chunk's random stream.
    n : int
        Number of patients.
    cancer_mix : dict
        Share of each cancer type (OncoTree code).
    first_id : int
        Number of the first patient (identifiers are ``{id_prefix}{number:07d}``).
    id_prefix : str
        Prefix of raw patient identifiers.
    diagnosis : (str, str)
        First and last possible diagnosis dates (ISO).
    panel : Panel
        Gene and hotspot tables (TMB is drawn per cancer type).
    """
    unknown = set(cancer_mix) - set(_HISTOLOGY)
    if unknown:
        raise ConfigError(
            f"synth.cancer_mix: the simulator knows {sorted(_HISTOLOGY)}, not {sorted(unknown)}"
        )
    types = list(cancer_mix)
    shares = np.array([cancer_mix[t] for t in types])
    cancer = np.array(types, dtype=object)[rng.choice(len(types), size=n, p=shares / shares.sum())]
    df = _clinical(rng, cancer, first_id=first_id, prefix=id_prefix, diagnosis=diagnosis)
    _subtypes(rng, df)
    drivers, lung_driver = _drivers(rng, df)
    _markers(rng, df, lung_driver)
    # tumour mutational burden (true rate, non-synonymous per Mb)
    mu = np.array([np.log(_TMB[c][0]) for c in cancer])
    sd = np.array([_TMB[c][1] for c in cancer])
    smoker = (df["smoking_status"] != "never").to_numpy()
    mu = mu + np.where((cancer == "NSCLC") & ~smoker, np.log(3.0 / 8.0), 0.0)
    mu = np.where(df["msi_status"].to_numpy() == "MSI-H", np.log(45.0), mu)
    df["tmb_rate"] = np.exp(rng.normal(mu, sd))
    return Baseline(patients=df, drivers=drivers)
