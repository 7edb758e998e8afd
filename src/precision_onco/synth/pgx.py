"""Germline pharmacogenomics of the synthetic cohort: genotypes, uracilemia, dose, toxicity.

Documented in docs/synthetic_cohort.md ("Pharmacogenomics"); settings ``synth.pgx``.

* **Genotypes**: each chromosome copy carries at most one DPYD variant allele, drawn so
  that the carrier frequencies are the configured European ones (HapB3 ~4.7 %, *2A
  ~1.6 %, c.2846A>T ~1.1 %, *13 rare); UGT1A1 *28 per copy (*28/*28 ~10 %). The
  activity score is the CPIC one (sum of the two allele values of
  ``pgx_definitions.yaml``). Genotypes are written into the normal column of the
  tumour/normal VCFs (:func:`germline_records`), at every defining position.
* **Uracilemia** (ng/mL) follows the activity score (log-normal around a median per
  score); it is measured at the start of most lines with a fluoropyrimidine option.
* **Practice dose**: a relative starting dose per (line, regimen). Practice knows the
  measured uracilemia and, for some patients, the genotype; it avoids fluoropyrimidines
  for most known complete deficiencies and reduces the dose for most (not all) known
  partial deficiencies and UGT1A1 poor metabolisers; frail patients get some
  chemotherapy at 80 %.
* **Toxicity**: the exposure of a cytotoxic regimen is ``dose / clearance`` (clearance
  ``activity score / 2`` for fluoropyrimidines, 0.7 for irinotecan in UGT1A1 poor
  metabolisers). Every toxicity category moves with ``tox_per_log_dose * log(min(1,
  exposure))``; the hematologic and gastrointestinal grade >= 3 risks are multiplied (on
  the complementary log-log scale, exact for rare events) by the carrier's relative
  risk, ``RR`` at full dose (Meulendijks 2015, from the definitions file) falling
  linearly to 1 as the dose falls to the clearance (Henricks 2018: genotype-guided
  reduced dosing brings the risk close to non-carriers'). Response moves with
  ``response_per_log_exposure * log(min(1, exposure))``: a carrier at a reduced dose
  keeps the efficacy of a normal metaboliser at full dose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from precision_onco.catalog import Catalog
from precision_onco.config.schema import SynthPgxConfig
from precision_onco.pgx.definitions import Definitions, load_definitions
from precision_onco.pgx.regimens import starting_dose_fractions

__all__ = [
    "FILTER_ID",
    "Germline",
    "PgxRegimens",
    "draw_germline",
    "germline_records",
    "guideline_doses",
    "measure_uracil",
    "practice_doses",
    "dose_effects",
]

#: FILTER of the germline records written at the defining positions.
FILTER_ID = "germline_pgx"
FILTER_DESCRIPTION = (
    "Germline genotype at a pharmacogenomic defining position (force-called in "
    "the normal sample; not a somatic call)"
)
#: Consequence and HGVSc of the simulated DPYD/UGT1A1 records (VEP CSQ of the VCF records).
_ANNOTATION = {
    "c.1905+1G>A": ("splice_donor_variant", "c.1905+1G>A"),
    "c.1679T>G": ("missense_variant", "c.1679T>G"),
    "c.1156G>T": ("stop_gained", "c.1156G>T"),
    "c.703C>T": ("missense_variant", "c.703C>T"),
    "c.2846A>T": ("missense_variant", "c.2846A>T"),
    "c.1129-5923C>G": ("intron_variant", "c.1129-5923C>G"),
    "c.1236G>A": ("synonymous_variant", "c.1236G>A"),
    "c.557A>G": ("missense_variant", "c.557A>G"),
    "*28": ("upstream_gene_variant", "c.-40_-39insTA"),
    "*6": ("missense_variant", "c.211G>A"),
}
_UGT_POOR_CLEARANCE = 0.7  # DPWG's 70 % starting dose: exposure of a poor metaboliser at 100 %
_MIN_CLEARANCE = 0.05


@dataclass(frozen=True)
class Germline:
    """Germline pharmacogenomic state of a chunk of patients (rows aligned with ``pidx``)."""

    dpyd: np.ndarray  # (n, 2) allele name per chromosome copy, "" for reference
    ugt1a1: np.ndarray  # (n, 2) star allele per copy
    activity_score: np.ndarray  # (n,)
    dpyd_rr: np.ndarray  # (n,) relative risk of severe FP toxicity at full dose
    ugt1a1_poor: np.ndarray  # (n,) bool
    uracil: np.ndarray  # (n,) the patient's usual plasma uracil, ng/mL
    reported: np.ndarray  # (n,) bool: the genotype is known to the clinician

    def subset(self, idx: np.ndarray) -> Germline:
        return Germline(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    def dpyd_diplotype(self) -> np.ndarray:
        """``Reference/c.2846A>T``-style names (the calling module's convention)."""
        out = []
        for a, b in self.dpyd:
            names = sorted([x or "Reference" for x in (a, b)], key=lambda s: s != "Reference")
            out.append("/".join(names))
        return np.array(out, dtype=object)

    def ugt1a1_diplotype(self) -> np.ndarray:
        return np.array(
            ["/".join(sorted(p, key=lambda s: int(s[1:]))) for p in self.ugt1a1], dtype=object
        )

    def ugt1a1_phenotype(self) -> np.ndarray:
        k = (self.ugt1a1 != "*1").sum(axis=1)
        return np.array(["normal", "intermediate", "poor"], dtype=object)[np.minimum(k, 2)]

    def state(self, uracil: np.ndarray | None = None) -> pd.DataFrame:
        """The PGx columns the recommender reads (:data:`PGX_STATE_COLUMNS`)."""
        df = pd.DataFrame(
            {
                "dpyd_activity_score": self.activity_score,
                "dpyd_diplotype": self.dpyd_diplotype(),
                "ugt1a1_phenotype": self.ugt1a1_phenotype(),
                "ugt1a1_diplotype": self.ugt1a1_diplotype(),
            }
        )
        if uracil is not None:
            df["uracil_ng_ml"] = uracil
        return df


def _haplotypes(rng: np.random.Generator, n: int, freqs: dict[str, float], ref: str) -> np.ndarray:
    names = [ref, *freqs]
    p = np.array([1.0 - sum(freqs.values()), *freqs.values()])
    return np.array(names, dtype=object)[rng.choice(len(names), size=(n, 2), p=p)]


def draw_germline(
    rng: np.random.Generator, n: int, cfg: SynthPgxConfig, defs: Definitions | None = None
) -> Germline:
    """Draw the DPYD and UGT1A1 genotypes, uracilemia and reporting of ``n`` patients.

    A carrier frequency ``c`` becomes the per-copy frequency ``1 - sqrt(1 - c)``.
    """
    defs = defs or load_definitions()
    dpyd_gene, ugt_gene = defs.genes["DPYD"], defs.genes["UGT1A1"]
    dpyd_alleles = {a.name: a for a in dpyd_gene.alleles}
    unknown = [k for k in cfg.dpyd_carrier_frequency if k not in dpyd_alleles]
    unknown += [
        k for k in cfg.ugt1a1_allele_frequency if k not in {a.name for a in ugt_gene.alleles}
    ]
    if unknown:
        raise ValueError(
            f"synth.pgx: alleles {unknown} are not in the definitions file "
            f"({defs.path}); known DPYD: {sorted(dpyd_alleles)}"
        )
    per_copy = {k: 1.0 - np.sqrt(1.0 - c) for k, c in cfg.dpyd_carrier_frequency.items()}
    dpyd = _haplotypes(rng, n, per_copy, "")
    ugt = _haplotypes(rng, n, dict(cfg.ugt1a1_allele_frequency), ugt_gene.reference_name)
    value = {k: float(a.value if a.value is not None else 1.0) for k, a in dpyd_alleles.items()}
    value[""] = float(dpyd_gene.reference_value)
    rr1 = {k: float(a.relative_risk or 1.0) for k, a in dpyd_alleles.items()}
    score = np.vectorize(value.get, otypes=[float])(dpyd).sum(axis=1)
    n_var = (dpyd != "").sum(axis=1)
    first = np.where(dpyd[:, 0] != "", dpyd[:, 0], dpyd[:, 1])
    rr = np.where(
        n_var == 0,
        1.0,
        np.where(
            n_var == 1,
            np.vectorize(lambda a: rr1.get(a, 1.0), otypes=[float])(first),
            cfg.dpyd_two_variant_relative_risk,
        ),
    )
    decreased = {a.name for a in ugt_gene.alleles if a.decreased}
    poor = np.isin(ugt, list(decreased)).sum(axis=1) >= 2
    med = {float(k): float(v) for k, v in cfg.uracil_median_by_activity.items()}
    missing = sorted(set(np.unique(score)) - set(med))
    if missing:
        raise ValueError(
            f"synth.pgx.uracil_median_by_activity: no median for activity score(s) {missing}"
        )
    uracil = np.array([med[s] for s in score]) * np.exp(rng.normal(0, cfg.uracil_log_sd, n))
    reported = rng.random(n) < cfg.genotype_reported
    return Germline(dpyd, ugt, score, rr, poor, uracil, reported)


def germline_records(germ: Germline, defs: Definitions | None = None) -> pd.DataFrame:
    """One record per (patient, defining position): the calls columns the VCF writer reads,
    with the genotype in ``gt`` (``0/0``, ``0/1``, ``1/1``), the same in normal and tumour."""
    defs = defs or load_definitions()
    n = len(germ.activity_score)
    frames = []
    for gene, alleles in (("DPYD", germ.dpyd), ("UGT1A1", germ.ugt1a1)):
        g = defs.genes[gene]
        for a in g.alleles:
            copies = (alleles == a.name).sum(axis=1)
            for v in a.variants:
                if v.repeat and v.units != 1:
                    continue  # one record for the TA repeat: the (TA)7 insertion, *28
                if v.repeat:
                    ref, alt = v.ref, v.ref + v.repeat.upper()
                else:
                    ref, alt = v.ref, str(v.alt)
                cons, hgvsc = _ANNOTATION.get(v.name or a.name, ("intron_variant", ""))
                frames.append(
                    pd.DataFrame(
                        {
                            "pidx": np.arange(n),
                            "gene": gene,
                            "chrom": f"chr{g.chrom}",
                            "pos": np.int64(v.pos),
                            "ref": ref,
                            "alt": alt,
                            "consequence": cons,
                            "variant_class": "SNV" if len(ref) == len(alt) else "insertion",
                            "hgvsp": "",
                            "hgvsc": hgvsc,
                            "gt": np.array(["0/0", "0/1", "1/1"], dtype=object)[
                                np.minimum(copies, 2)
                            ],
                        }
                    )
                )
    out = pd.concat(frames, ignore_index=True).drop_duplicates(["pidx", "chrom", "pos"])
    alt_copies = out["gt"].map({"0/0": 0, "0/1": 1, "1/1": 2}).to_numpy()
    out["driver"] = False
    out["filter"] = FILTER_ID
    out["t_depth"] = 120
    out["n_depth"] = 40
    out["t_alt_count"] = alt_copies * 60
    out["n_alt_count"] = alt_copies * 20
    out["multi"] = False
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class PgxRegimens:
    """Per-regimen flags over the catalog order."""

    fluoropyrimidine: np.ndarray
    irinotecan: np.ndarray
    cytotoxic: np.ndarray
    regimens: list

    @classmethod
    def from_catalog(cls, catalog: Catalog, defs: Definitions | None = None) -> PgxRegimens:
        defs = defs or load_definitions()
        fp = {d for d, s in defs.drugs.items() if s.get("gene") == "DPYD"}
        iri = {d for d, s in defs.drugs.items() if s.get("gene") == "UGT1A1"}
        regs = catalog.regimens
        return cls(
            fluoropyrimidine=np.array([bool(fp & set(r.drugs)) for r in regs]),
            irinotecan=np.array([bool(iri & set(r.drugs)) for r in regs]),
            cytotoxic=np.array(["chemotherapy" in catalog.drug_classes(r) for r in regs]),
            regimens=list(regs),
        )


def measure_uracil(
    rng: np.random.Generator, germ: Germline, fp_option: np.ndarray, cfg: SynthPgxConfig
) -> np.ndarray:
    """Uracilemia at line start (ng/mL, 0.1 resolution); NaN where not measured (no
    fluoropyrimidine option, or not measured in practice)."""
    m = len(fp_option)
    value = germ.uracil * np.exp(rng.normal(0, cfg.uracil_measurement_log_sd, m))
    measured = fp_option & (rng.random(m) < cfg.uracil_measured)
    return np.where(measured, np.round(value, 1), np.nan)


def practice_doses(
    rng: np.random.Generator,
    germ: Germline,
    uracil: np.ndarray,
    frail: np.ndarray,
    regs: PgxRegimens,
    cfg: SynthPgxConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Practice's relative starting dose of every regimen (m, R), where practice avoids a
    fluoropyrimidine regimen for a known deficiency (m, R), and the clinical part of the dose
    (m, R): the frailty reduction alone, which a prescriber following the pharmacogenomic
    guidance would keep."""
    m, r = len(uracil), len(regs.fluoropyrimidine)
    u = np.nan_to_num(uracil, nan=-1.0)
    as_known = np.where(germ.reported, germ.activity_score, np.nan)
    complete = (u >= 150) | (as_known <= 0.5)
    partial = ~complete & (((u >= 16) & (u < 150)) | np.isin(as_known, [1.0, 1.5]))
    avoid_row = complete & (rng.random(m) < cfg.practice_avoid_known_deficient)
    reduce_row = partial & (rng.random(m) < cfg.practice_reduce_known_partial)
    fp_dose = np.where(
        complete, 0.5, np.where(reduce_row, np.where(germ.reported | (u >= 50), 0.5, 0.75), 1.0)
    )
    iri_dose = np.where(
        germ.reported & germ.ugt1a1_poor & (rng.random(m) < cfg.practice_reduce_ugt1a1_poor),
        0.7,
        1.0,
    )
    frail_dose = np.where(frail & (rng.random(m) < cfg.practice_reduce_frail), 0.8, 1.0)
    clinical = np.where(regs.cytotoxic[None, :], frail_dose[:, None], np.ones((m, r)))
    dose = np.where(
        regs.fluoropyrimidine[None, :], np.minimum(clinical, fp_dose[:, None]), clinical
    )
    dose = np.where(regs.irinotecan[None, :], np.minimum(dose, iri_dose[:, None]), dose)
    avoid = avoid_row[:, None] & regs.fluoropyrimidine[None, :]
    return dose, avoid, clinical


def guideline_doses(germ: Germline, uracil: np.ndarray, regs: PgxRegimens) -> np.ndarray:
    """The starting dose the guidelines give each regimen (m, R): what the recommender
    computes from the genotype in the VCF and the measured uracilemia; NaN where a drug is
    to be avoided."""
    # the dose depends on the uracilemia band only: one representative per band keeps the
    # number of distinct states small (the guidance is computed once per distinct state)
    mins = np.array(sorted(b.min for b in load_definitions().uracil_bands), dtype=float)
    at = np.searchsorted(mins, np.nan_to_num(uracil, nan=0.0), side="right") - 1
    band = np.where(np.isnan(uracil), np.nan, mins[np.maximum(at, 0)])
    frac, avoid = starting_dose_fractions(germ.state(band), regs.regimens)
    return np.where(avoid, np.nan, frac)


def dose_effects(
    germ: Germline, dose: np.ndarray, regs: PgxRegimens, cfg: SynthPgxConfig, categories: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Toxicity log-odds shift (m, R), relative risk per category (m, R, K) and response
    log-odds shift (m, R) of every regimen at ``dose``."""
    c_dpyd = np.maximum(germ.activity_score / 2.0, _MIN_CLEARANCE)[:, None]
    c_ugt = np.where(germ.ugt1a1_poor, _UGT_POOR_CLEARANCE, 1.0)[:, None]
    fp, iri = regs.fluoropyrimidine[None, :], regs.irinotecan[None, :]
    clearance = np.minimum(np.where(fp, c_dpyd, 1.0), np.where(iri, c_ugt, 1.0))
    exposure = dose / clearance
    below = np.log(np.minimum(1.0, exposure))
    cyto = regs.cytotoxic[None, :]
    tox_shift = np.where(cyto, cfg.tox_per_log_dose * below, 0.0)
    resp_shift = np.where(cyto, cfg.response_per_log_exposure * below, 0.0)

    def excess(rr: np.ndarray, c: np.ndarray) -> np.ndarray:
        frac = np.clip((dose - c) / np.maximum(1.0 - c, 1e-9), 0.0, 1.0)
        return 1.0 + (rr - 1.0) * frac

    rr_fp = np.where(fp, excess(germ.dpyd_rr[:, None], c_dpyd), 1.0)
    rr_ugt_full = np.where(germ.ugt1a1_poor, cfg.ugt1a1_poor_relative_risk, 1.0)[:, None]
    rr_iri = np.where(iri, excess(rr_ugt_full, c_ugt), 1.0)
    rr = rr_fp * rr_iri
    hit = np.array([c in ("hematologic", "gastrointestinal") for c in categories])
    rr_cat = np.where(hit[None, None, :], rr[:, :, None], 1.0)
    return tox_shift, rr_cat, resp_shift
