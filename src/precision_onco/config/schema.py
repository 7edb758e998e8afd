"""Structured-config schemas, one dataclass per Hydra group.

Every group under ``conf/`` is validated against the dataclass of the same
name here: an unknown key, a value of the wrong type or a missing required
value (``???``) fails at once with a message that names the full key.

The schemas use :mod:`typing` generics (``List``, ``Dict``, ``Optional``)
because OmegaConf resolves them on every supported Python version.

A value chosen from a fixed set is a ``str`` field declared with :func:`choice` and a
:class:`~typing.Literal` of the accepted values (OmegaConf has no ``Literal`` type, so the
Literal rides in the field's metadata): validation at composition refuses any other value
and names the accepted ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, get_args  # noqa: UP035 - OmegaConf needs typing generics

from omegaconf import MISSING

__all__ = [
    "Calibration",
    "EndpointRole",
    "FhirValidate",
    "ModelKind",
    "ReportLang",
    "SplitMethod",
    "choice",
    "choices_of",
    "BiomarkerConfig",
    "CancerTypeConfig",
    "CatalogConfig",
    "CohortConfig",
    "CohortInputsConfig",
    "ComputeConfig",
    "MafInputConfig",
    "SampleMapConfig",
    "TableInputConfig",
    "VcfInputConfig",
    "Config",
    "ServeAuthConfig",
    "ServeConfig",
    "ContraindicationConfig",
    "DrugConfig",
    "EffectsConfig",
    "EvidenceConfig",
    "FeaturesConfig",
    "LeakageConfig",
    "LineRangeConfig",
    "OutputsConfig",
    "PathsConfig",
    "PseudonymizationConfig",
    "RegimenConfig",
    "SynthConfig",
    "SynthPgxConfig",
    "GermlineInputConfig",
]

#: ``split.method``: held out at random by patient, by line start date, or by a column.
SplitMethod = Literal["group", "temporal", "column"]
#: ``model.kind``: LightGBM, or a scikit-learn classifier named by ``model.estimator``.
ModelKind = Literal["lightgbm", "sklearn"]
#: ``model.calibration``: of the probabilities, on out-of-fold predictions.
Calibration = Literal["isotonic", "sigmoid", "none"]
#: ``report.lang``: the language of the patient reports and model card.
ReportLang = Literal["en", "fr"]
#: ``report.fhir_validate``: which bundles the fhir.resources models check.
FhirValidate = Literal["all", "first", "none"]
#: ``endpoints.<name>.role``: what the rest of the pipeline uses an endpoint for (see
#: :class:`EndpointConfig`; at most one endpoint per role but ``other``).
EndpointRole = Literal["efficacy", "any_severe_ae", "other"]


def choice(default: str, accepted: Any) -> Any:
    """A ``str`` field whose value must be one of the Literal ``accepted`` (checked by
    :func:`precision_onco.config.validate`); ``default`` may be ``MISSING`` (``conf/`` sets it)."""
    assert default == MISSING or default in get_args(accepted), (default, accepted)
    return field(default=default, metadata={"choices": accepted})


def choices_of(accepted: Any) -> tuple[str, ...]:
    """The values of a Literal of choices, in declaration order."""
    return tuple(get_args(accepted))


# --------------------------------------------------------------------------- paths
@dataclass
class OutputsConfig:
    """The data catalog: every file or directory a stage writes (after ``synthesize``, whose
    raw files are :data:`precision_onco.synth.RAW_FILES` under ``raw_dir``) and the ground
    truth it reads, relative to the project root. Set in ``conf/paths/default.yaml`` (from
    the directories there); read as paths through :func:`precision_onco.config.outputs`.
    ``tests/test_dvc_deps.py`` checks that ``dvc.yaml`` names the same files. The entries
    interpolate the directories (``${..reports_dir}/metrics.json``): move a directory in
    ``conf/`` or by an override (``paths.reports_dir=...``); replacing it in an already
    validated :class:`Config` leaves the resolved entries where they were.
    """

    patients: str = MISSING  # canonical tables (ingest)
    lines: str = MISSING
    variants: str = MISSING
    rejects: str = MISSING
    ingest_summary: str = MISSING
    ingest_metrics: str = MISSING
    features: str = MISSING  # featurize
    models: str = MISSING  # train: <endpoint>.joblib and model_manifest
    model_manifest: str = MISSING
    predictions: str = MISSING
    cv_predictions: str = MISSING
    policy: str = MISSING  # policy
    metrics: str = MISSING  # evaluate
    plots: str = MISSING
    registry: str = MISSING
    model_card: str = MISSING
    recommendations: str = MISSING  # recommend
    recommendations_excluded: str = MISSING
    recommender: str = MISSING
    patient_reports: str = MISSING  # report
    ground_truth: str = MISSING  # the synthetic cohort's true probabilities (synthesize)
    #: params.yaml's ``catalog`` section, written by `config compose`: the stages that read
    #: the catalog depend on this file instead of repeating its ~800 lines as DVC params
    catalog_params: str = MISSING  # compose


@dataclass
class PathsConfig:
    """Where stages read and write, relative to the project root."""

    raw_dir: str = MISSING
    interim_dir: str = MISSING
    processed_dir: str = MISSING
    reports_dir: str = MISSING
    models_dir: str = MISSING
    outputs: OutputsConfig = field(default_factory=OutputsConfig)


# ------------------------------------------------------------------------- catalog
@dataclass
class BiomarkerConfig:
    """A biomarker: present when a variant rule or a marker rule matches.

    A variant rule matches a variant of one of ``genes`` whose short HGVSp
    (``p.L858R``) matches one of the ``hgvsp`` regular expressions; an empty
    ``hgvsp`` list matches any protein-altering variant of those genes.
    A marker rule compares a clinical variable ``marker`` (``pdl1_tps``, ``msi_status``, …)
    with ``min`` (numeric, inclusive) or ``equals`` (categorical).
    """

    label: str = MISSING
    label_fr: Optional[str] = None  # the label in French reports (English when null)
    genes: List[str] = field(default_factory=list)
    hgvsp: List[str] = field(default_factory=list)
    marker: Optional[str] = None
    min: Optional[float] = None
    equals: Optional[str] = None
    # The cancer types (OncoTree codes) where the rule is defined (e.g. PD-L1 TPS >= 50% for
    # NSCLC); empty: every cancer type. Elsewhere the biomarker is missing, not absent.
    cancer_types: List[str] = field(default_factory=list)


@dataclass
class LineRangeConfig:
    min: int = 1
    max: int = 10


@dataclass
class ContraindicationConfig:
    """A rule on the patient's state at line start that excludes the regimen.

    Either a comparison ``variable op value`` (``op`` one of ``<``, ``<=``,
    ``>``, ``>=``, ``==``, ``!=``; boolean variables compare as 0/1), or the
    presence of any of ``biomarkers``. ``max_line`` limits the rule to lines up
    to that number (for example an EGFR driver excludes first-line
    immunotherapy alone).
    """

    id: str = MISSING
    label: str = MISSING
    label_fr: Optional[str] = None  # the label in French reports (English when null)
    variable: Optional[str] = None
    op: Optional[str] = None
    value: Optional[float] = None
    biomarkers: List[str] = field(default_factory=list)
    max_line: Optional[int] = None


@dataclass
class EvidenceConfig:
    """The published evidence behind a regimen (trial population: ECOG 0-1)."""

    trial: str = MISSING
    population: str = MISSING
    population_fr: Optional[str] = None  # the population in French reports
    orr: float = MISSING
    grade3_rate: float = MISSING
    citation: str = MISSING
    grade3_by_category: Dict[str, float] = field(default_factory=dict)


@dataclass
class DrugConfig:
    """A drug of the catalog: its names (English, French INN) and its medication codes.

    ``atc``: the WHO ATC code (written into FHIR bundles as the medication coding);
    ``rxnorm``: the RxNorm ingredient CUI when known (optional).
    """

    label: str = MISSING
    label_fr: Optional[str] = None  # the French INN (English when null)
    atc: Optional[str] = None
    rxnorm: Optional[str] = None


@dataclass
class CancerTypeConfig:
    """A cancer type of the catalog (an OncoTree code) and its name (OncoTree's, and French)."""

    label: str = MISSING
    label_fr: Optional[str] = None


@dataclass
class RegimenConfig:
    id: str = MISSING
    name: str = MISSING
    name_fr: Optional[str] = None  # the regimen's name in French reports (English when null)
    drugs: List[str] = MISSING
    regimen_class: str = MISSING
    component_classes: List[str] = field(default_factory=list)
    cancer_types: List[str] = MISSING
    histologies: List[str] = field(default_factory=list)
    lines: LineRangeConfig = field(default_factory=LineRangeConfig)
    requires: List[str] = field(default_factory=list)
    excludes: List[str] = field(default_factory=list)
    contraindications: List[ContraindicationConfig] = field(default_factory=list)
    preference: int = MISSING
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)


@dataclass
class CatalogConfig:
    """The therapy catalog: biomarkers, regimens and their evidence."""

    version: str = MISSING
    toxicity_categories: List[str] = MISSING
    regimen_classes: List[str] = field(
        default_factory=lambda: [
            "chemotherapy",
            "targeted",
            "immunotherapy",
            "hormonal",
            "combination",
        ]
    )
    no_rechallenge: bool = MISSING
    biomarkers: Dict[str, BiomarkerConfig] = field(default_factory=dict)
    regimens: List[RegimenConfig] = MISSING
    # names and medication codes of the regimens' drugs, and names of the cancer types
    # (OncoTree); used in reports and FHIR bundles, the ids stand in when absent
    drugs: Dict[str, DrugConfig] = field(default_factory=dict)
    cancer_types: Dict[str, CancerTypeConfig] = field(default_factory=dict)


# --------------------------------------------------------------------------- synth
@dataclass
class EffectsConfig:
    """Coefficients of the simulator's structural outcome model (log-odds scale).

    See ``docs/synthetic_cohort.md`` for the model they enter.
    """

    response_per_extra_line: float = MISSING
    response_ecog2: float = MISSING
    response_ecog3: float = MISSING
    response_per_albumin_gdl: float = MISSING
    response_per_log_nlr: float = MISSING
    io_per_log2_tmb: float = MISSING
    io_pdl1_high: float = MISSING
    io_pdl1_low: float = MISSING
    io_msi_high: float = MISSING
    io_stk11: float = MISSING
    io_keap1: float = MISSING
    io_egfr_driver: float = MISSING
    io_prior_io: float = MISSING
    targeted_without_biomarker_logor: float = MISSING
    anti_egfr_in_ras_braf_mutant: float = MISSING
    same_class_rechallenge: float = MISSING
    tox_per_decade_over_60: float = MISSING
    tox_ecog2: float = MISSING
    tox_per_albumin_gdl: float = MISSING
    tox_platinum_per_10_crcl_below_60: float = MISSING
    tox_prior_grade3: float = MISSING


@dataclass
class SynthPgxConfig:
    """Germline pharmacogenomics of the synthetic cohort (issue 17; docs/synthetic_cohort.md).

    Genotypes are drawn per chromosome copy from the carrier frequencies (European
    populations); uracilemia follows the DPYD activity score; practice reduces the starting
    dose of the carriers it knows about (uracil measured, or a genotype reported), not always;
    the fluoropyrimidine and irinotecan toxicity depends on genotype and dose, with the
    relative risks of ``pgx_definitions.yaml`` (Meulendijks 2015) at full dose.
    """

    enabled: bool = MISSING
    # carrier frequency of each DPYD allele (name as in pgx_definitions.yaml)
    dpyd_carrier_frequency: Dict[str, float] = field(default_factory=dict)
    # UGT1A1 allele frequencies (name as in pgx_definitions.yaml); *1 is the rest
    ugt1a1_allele_frequency: Dict[str, float] = field(default_factory=dict)
    # median plasma uracil (ng/mL) by DPYD activity score, and the log-scale spread
    uracil_median_by_activity: Dict[str, float] = field(default_factory=dict)
    uracil_log_sd: float = MISSING
    uracil_measurement_log_sd: float = MISSING
    # share of lines with a fluoropyrimidine option whose uracil is measured at line start
    uracil_measured: float = MISSING
    # share of patients whose germline DPYD/UGT1A1 result is reported to the clinician
    genotype_reported: float = MISSING
    # practice: known complete deficiency -> fluoropyrimidines avoided with this probability
    practice_avoid_known_deficient: float = MISSING
    # practice: known partial deficiency -> starting dose reduced with this probability
    practice_reduce_known_partial: float = MISSING
    # practice: known UGT1A1 poor metaboliser -> irinotecan regimen reduced to 70 %
    practice_reduce_ugt1a1_poor: float = MISSING
    # practice: frail patients (ECOG >= 2 or age >= 75) get chemotherapy at 80 %
    practice_reduce_frail: float = MISSING
    # toxicity log-odds per log relative exposure (every category of the regimen)
    tox_per_log_dose: float = MISSING
    # response log-odds per log relative exposure below 1 (cytotoxic regimens)
    response_per_log_exposure: float = MISSING
    # relative risk of grade >= 3 hematologic / GI toxicity of irinotecan regimens at full
    # dose for UGT1A1 poor metabolisers (a simulator assumption, see the docs)
    ugt1a1_poor_relative_risk: float = MISSING
    # combined relative risk of two DPYD variant alleles (a simulator assumption)
    dpyd_two_variant_relative_risk: float = MISSING


@dataclass
class SynthConfig:
    """Synthetic cohort simulator settings (the ``synthesize`` stage)."""

    seed: int = MISSING
    n_patients: int = MISSING
    # shares per cancer type; the default mix lives in conf/synth/default.yaml (a schema
    # default would be merged into, so a user could never drop a cancer type)
    cancer_mix: Dict[str, float] = field(default_factory=dict)
    max_lines: int = MISSING
    diagnosis_start: str = MISSING
    diagnosis_end: str = MISSING
    data_cutoff: str = MISSING
    panel_size_mb: float = MISSING
    chunk_patients: int = MISSING
    calibration_patients: int = MISSING
    calibration_iterations: int = MISSING
    choice_temperature: float = MISSING
    guideline_adherence: float = MISSING
    frailty_aversion: float = MISSING
    patient_id_prefix: str = MISSING
    effects: EffectsConfig = field(default_factory=EffectsConfig)
    pgx: SynthPgxConfig = field(default_factory=SynthPgxConfig)


# -------------------------------------------------------------------------- cohort
@dataclass
class PseudonymizationConfig:
    """Where the HMAC key for ``patient_key`` comes from.

    The key is read from the environment variable ``key_env`` or from
    ``key_file`` (outside the repository). ``allow_demo_key`` lets the
    synthetic cohort fall back to a public demo key, with a warning.
    """

    key_env: str = "PRECISION_ONCO_PSEUDONYM_KEY"
    key_file: Optional[str] = None
    allow_demo_key: bool = False


@dataclass
class TableInputConfig:
    """One clinical table (CSV, TSV, Parquet or XLSX) and how its columns map to ours.

    ``columns`` maps a canonical column name to the source column name (source
    names may contain spaces, parentheses and colons). ``values`` maps a
    canonical column to a value code list in the source's own notation,
    ``"1:Yes; 0:No"`` (source value before the colon, canonical value after).
    ``units`` maps a canonical column to a conversion such as ``"g/L->g/dL"``.
    ``constants`` sets canonical columns absent from the source to one value.
    Columns not mapped keep their source names.
    """

    path: Optional[str] = None
    format: str = "auto"  # auto (from the file name) | csv | tsv | parquet | xlsx
    sheet: Optional[str] = None
    encoding: str = "utf-8"
    columns: Dict[str, str] = field(default_factory=dict)
    values: Dict[str, str] = field(default_factory=dict)
    units: Dict[str, str] = field(default_factory=dict)
    constants: Dict[str, str] = field(default_factory=dict)
    date_format: Optional[str] = None


@dataclass
class VcfInputConfig:
    """Per-sample VCF files (plain or bgzipped), VEP ``CSQ`` or SnpEff ``ANN`` annotated or not."""

    paths: List[str] = field(default_factory=list)  # files or glob patterns
    # Tumour column: this name, else the ##tumor_sample= header, else the documented
    # name rule (a sample whose name matches tumor_name_regex, or the last column).
    tumor_sample: Optional[str] = None
    tumor_name_regex: str = "(?i)(tumou?r|[-_]T[0-9]*$|^T[0-9]*$)"
    pass_only: bool = True
    vaf_info_keys: List[str] = field(default_factory=lambda: ["TVAF", "VAF"])
    depth_info_keys: List[str] = field(default_factory=lambda: ["TDP", "DP"])
    genes_bed: Optional[str] = None  # BED or GTF of gene intervals for unannotated files
    # Worker processes reading files in parallel: 0 = one per core (when the input is large
    # enough to gain), 1 = read in this process.
    workers: int = 0


@dataclass
class MafInputConfig:
    """GDC-style MAF files (plain or gzipped, ``#version`` lines allowed)."""

    paths: List[str] = field(default_factory=list)
    vaf_column: Optional[str] = None  # a VAF column, when t_alt_count/t_depth are absent
    vaf_scale: str = "auto"  # fraction | percent | auto (percent when a value exceeds 1)
    pass_only: bool = False  # apply a FILTER column when the MAF has one


@dataclass
class SampleMapConfig:
    """How sequencing sample identifiers map to patients.

    In order: ``file`` (a table with ``sample_id`` and ``patient_id`` columns), the
    patients-table ``column`` holding each patient's tumour sample, then ``regex``
    (its first group is the patient id, e.g. TCGA barcodes ``^(TCGA-..-....)``),
    else the sample id is taken as the patient id.
    """

    file: Optional[str] = None
    column: Optional[str] = None
    regex: Optional[str] = None


@dataclass
class PanelConfig:
    """One assay's covered genes: a list, a file, or both (their union)."""

    genes: List[str] = field(default_factory=list)
    # A gene list (one HGNC symbol per line, '#' comments) or the assay's target BED (.bed or
    # .bed.gz: the genes its intervals overlap in cohort.inputs.vcf.genes_bed when that is set,
    # else the gene named by column 4, up to the first '_', ':' or ';').
    file: Optional[str] = None


@dataclass
class CoverageConfig:
    """Which genes each patient's sequencing assay covered.

    A rule that needs a gene's absence (RAS wild type, no EGFR driver) holds only where the
    gene was tested: a gene with no call counts as wild type only if the assay covered it.
    Coverage of a patient is the union of: ``genes`` and ``file`` (every sample of the cohort),
    the panel named in the patients table's ``assay_panel`` column (a key of ``panels``), a
    ``genes_tested`` column of the patients table (symbols separated by ';'), the genes a FHIR
    bundle lists as studied, and (``called_genes``) the genes with a variant call.
    """

    genes: List[str] = field(default_factory=list)
    file: Optional[str] = None
    panels: Dict[str, PanelConfig] = field(default_factory=dict)
    called_genes: bool = True  # a gene with any call in the sample was covered


@dataclass
class GermlineInputConfig:
    """Germline genotypes for pharmacogenomics (DPYD, UGT1A1; issue 17).

    ``source``: ``none``; ``normal_column`` (the normal column of the tumour/normal VCFs of
    ``cohort.inputs.vcf``, or of ``paths`` when given); or ``files`` (one germline VCF per
    patient, ``paths``). Each file's germline sample is linked to its patient through the
    patients-table ``sample_column`` (e.g. ``normal_sample_id``), else the sample map of
    ``cohort.inputs.samples``. ``covered``: the files cover every defining position (an
    absent position is reference, not "not tested"); leave it false unless that is true.
    """

    source: str = "none"  # none | normal_column | files
    paths: List[str] = field(default_factory=list)
    sample_column: Optional[str] = None
    covered: bool = False


@dataclass
class CohortInputsConfig:
    """The files of a cohort. Any may be absent; at least one must be given."""

    patients: TableInputConfig = field(default_factory=TableInputConfig)
    lines: TableInputConfig = field(default_factory=TableInputConfig)
    # Optional separate file of held-out therapy lines (same canonical columns, its own
    # mapping): its rows get held_out = 1, the lines table's 0; select them for testing
    # with split.method=column, split.column=held_out, split.test_values=["1"].
    test_lines: TableInputConfig = field(default_factory=TableInputConfig)
    # The validation file's patients (its own mapping). Unset for a one-table cohort
    # (patients.path == lines.path): the test_lines file is read with the patients mapping.
    test_patients: TableInputConfig = field(default_factory=TableInputConfig)
    vcf: VcfInputConfig = field(default_factory=VcfInputConfig)
    maf: MafInputConfig = field(default_factory=MafInputConfig)
    fhir: List[str] = field(default_factory=list)  # FHIR R4 / mCODE bundle files or globs
    # Observation codes ("system|code" or a bare code) read from FHIR as plasma uracil
    # (uracil_ng_ml at the line start). No LOINC code for plasma uracil could be verified
    # for this project: give your laboratory's code; the default is this project's own.
    fhir_uracil_codes: List[str] = field(
        default_factory=lambda: ["urn:precision-onco:lab|uracil-plasma"]
    )
    samples: SampleMapConfig = field(default_factory=SampleMapConfig)
    coverage: CoverageConfig = field(default_factory=CoverageConfig)
    germline: GermlineInputConfig = field(default_factory=GermlineInputConfig)


@dataclass
class CohortConfig:
    """The cohort a run works on (inputs and how to read them)."""

    name: str = MISSING
    description: str = ""
    synthetic: bool = False
    pseudonymization: PseudonymizationConfig = field(default_factory=PseudonymizationConfig)
    inputs: CohortInputsConfig = field(default_factory=CohortInputsConfig)
    # Table columns that hold other raw identifiers (sample barcodes, MRNs): pseudonymized
    # like patient ids in every output; never written raw.
    identifier_columns: List[str] = field(default_factory=list)
    # OncoTree code list (flat TSV with a `code` column) to check cancer types against.
    oncotree_codes: Optional[str] = None
    # Lines starting after this date are rejected (they cannot have been observed).
    data_cutoff: Optional[str] = None


# ---------------------------------------------------------------------------- modelling
@dataclass
class LeakageConfig:
    """The guard that refuses to train on an input that gives the outcome away.

    Training stops, naming the column, when a declared extra input is named like an outcome
    or a later date (``name_patterns``, regular expressions, case-insensitive), when one
    input alone separates an endpoint's classes on the training rows with an AUC of at least
    ``max_single_auc``, or when the model's AUC on held-out patients reaches
    ``max_model_auc``. ``allow`` lists inputs known to be safe (recorded in MLflow);
    ``enabled: false`` switches the guard off (also recorded).
    """

    enabled: bool = MISSING
    max_single_auc: float = MISSING
    max_model_auc: float = MISSING
    name_patterns: List[str] = field(default_factory=list)
    allow: List[str] = MISSING


@dataclass
class FeaturesConfig:
    """What the ``featurize`` stage builds for each (patient, line)."""

    # Genes with an alteration indicator: a TSV with a `symbol` column (and optionally
    # `pathway`), relative to the project root; null = the package's default panel.
    panel_file: Optional[str] = MISSING
    panel_size_mb: float = 1.2  # for TMB: non-synonymous variants per Mb of panel
    # Consequences counted as protein-altering (Sequence Ontology terms).
    nonsynonymous: List[str] = field(
        default_factory=lambda: [
            "missense_variant",
            "stop_gained",
            "frameshift_variant",
            "splice_acceptor_variant",
            "splice_donor_variant",
            "inframe_deletion",
            "inframe_insertion",
            "start_lost",
            "stop_lost",
            "protein_altering_variant",
            "feature_amplification",
        ]
    )
    min_vaf: float = MISSING  # calls below this allele fraction are ignored
    # Model inputs are the canonical features (docs/ingest.md) plus the columns declared
    # here: numeric columns of the lines or patients table, by their name after mapping.
    # Nothing else of a table becomes an input.
    extra: List[str] = MISSING
    # Canonical features to leave out.
    exclude: List[str] = MISSING
    leakage: LeakageConfig = field(default_factory=lambda: LeakageConfig())


@dataclass
class EndpointConfig:
    """A binary endpoint: ``column`` as 0/1, or 1 when ``column`` >= ``threshold``.

    ``role`` says what else uses it: ``efficacy`` (the response endpoint: the first-vs-second
    explanation, the policy study's and the reports' headline efficacy outcome),
    ``any_severe_ae`` (any grade >= 3 adverse event: the headline toxicity outcome, the
    pharmacogenomic dosing study's summary), ``other`` (a per-category toxicity or any
    further endpoint). ``explain``: its drivers (TreeSHAP) are given for every ranked
    regimen. ``pgx_dose``: a toxicity the pharmacogenomic evaluation reports by genotype.
    Read them through :func:`precision_onco.config.endpoint_roles`.
    """

    column: str = MISSING
    threshold: Optional[float] = None
    label: str = ""
    role: str = choice("other", EndpointRole)
    explain: bool = False
    pgx_dose: bool = False


@dataclass
class SplitConfig:
    """How held-out rows are chosen; every split keeps a patient's lines together."""

    method: str = choice("group", SplitMethod)
    test_fraction: float = 0.2
    validation_fraction: float = 0.2  # of the training patients, for early stopping
    column: Optional[str] = None  # method=column: rows whose value is in test_values are held out
    test_values: List[str] = field(default_factory=lambda: ["test"])
    cv_folds: int = 0  # > 1: also report patient-grouped K-fold cross-validated metrics
    seed: int = 7


@dataclass
class ModelConfig:
    """The classifier of every endpoint and how it is fitted and calibrated."""

    kind: str = choice("lightgbm", ModelKind)
    # sklearn: dotted path of a classifier class (e.g. sklearn.linear_model.LogisticRegression)
    estimator: Optional[str] = None
    params: Dict[str, Any] = field(default_factory=dict)
    early_stopping_rounds: int = 50
    max_rounds: int = 2000
    calibration: str = choice("isotonic", Calibration)
    calibration_folds: int = 5
    propensity_weighting: bool = False
    weight_clip: float = 20.0
    # A regimen is scored for a cancer type only where at least this many training patients
    # of that cancer type received it; elsewhere it is listed as excluded, with the reason.
    min_regimen_patients: int = 10


@dataclass
class EvaluationConfig:
    """Held-out evaluation and the sample-size checks of each endpoint.

    An endpoint whose training data has fewer than ``min_events_per_input`` events (the rarer
    class) per candidate input, or fewer than ``min_events`` events in all, is flagged: the
    stage warns, the model card says so first, and the model is not promoted to ``champion``
    unless ``promote_small`` is true. With fewer than ``min_test_events`` held-out events the
    model card leads with the cross-validated figures (when ``split.cv_folds`` > 1).
    """

    bootstrap: int = MISSING
    calibration_bins: int = MISSING
    min_subgroup_rows: int = MISSING
    seed: int = MISSING
    min_events_per_input: float = MISSING
    min_events: int = MISSING
    min_test_events: int = MISSING
    promote_small: bool = MISSING


@dataclass
class TrackingConfig:
    """MLflow tracking and the model registry."""

    enabled: bool = MISSING
    uri: str = MISSING
    artifact_location: str = MISSING
    experiment: str = MISSING
    register: bool = MISSING
    model_prefix: str = MISSING
    # The champion alias moves to a new version only if it is not worse than the current
    # champion by more than this on any gate metric (AUC: lower is worse; Brier: higher).
    tolerance: float = MISSING
    gate_metrics: List[str] = MISSING


@dataclass
class ServeAuthConfig:
    """API keys of ``precision-onco serve``: off on loopback unless ``required``; always
    required when the server binds beyond loopback. The keys come from ``keys_env``
    (comma-separated), never from the configuration."""

    required: bool = False
    keys_env: str = "PRECISION_ONCO_API_KEYS"


@dataclass
class ServeConfig:
    """``precision-onco serve``: address, workers, limits and access (see docs/mlops.md)."""

    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 2
    max_body_bytes: int = 1_000_000
    max_batch: int = 100
    # most payloads of the requests waiting scored together in one round (serve/app.py)
    max_coalesce: int = 32
    request_timeout_s: float = 30.0
    # Host header values accepted besides the loopback names and `host` ("*": any)
    allowed_hosts: List[str] = field(default_factory=list)
    auth: ServeAuthConfig = field(default_factory=ServeAuthConfig)


@dataclass
class RecommendConfig:
    """How candidate regimens are ranked: utility = sum of weight x probability per endpoint.

    Positive weights reward (response), negative weights penalize (toxicities).
    Endpoints without a trained model are ignored.
    """

    preset: str = "balanced"
    weights: Dict[str, float] = field(default_factory=dict)


@dataclass
class PropensityConfig:
    """The propensity model of practice, P(regimen | line state): a cross-fitted multiclass
    LightGBM (:func:`precision_onco.models.propensity.cross_fit_propensity`), shared by
    propensity-weighted training (``model.propensity_weighting``) and the policy study.

    Every value comes from ``conf/propensity/default.yaml`` (``???`` here: no second default).
    """

    folds: int = MISSING  # patient-grouped cross-fitting folds (at most the patients)
    n_estimators: int = MISSING
    learning_rate: float = MISSING
    num_leaves: int = MISSING
    min_child_samples: int = MISSING
    reg_lambda: float = MISSING


@dataclass
class PolicyConfig:
    """Off-policy evaluation of the recommender against practice, guideline, random, oracle."""

    enabled: bool = MISSING
    clip: float = MISSING  # propensity floor of the inverse weights
    low_propensity: float = MISSING  # overlap diagnostic: choices practice made this rarely
    bootstrap: int = MISSING  # patient bootstrap resamples for every CI
    level: float = MISSING
    seed: int = MISSING
    n_jobs: int = MISSING  # LightGBM threads for the propensity model
    # also train the endpoint models the other way (naive vs propensity-weighted) and
    # compare their recommendations side by side
    compare_training: bool = MISSING


@dataclass
class ReportConfig:
    """Patient reports: language (``en`` or ``fr``), PDF through headless Chromium."""

    lang: str = choice(MISSING, ReportLang)
    pdf: bool = MISSING
    chromium: str = MISSING  # the browser binary for PDF
    max_patients: Optional[int] = MISSING  # null: every patient with a recommendation
    # also write <patient_key>.line<N>.fhir.json (FHIR R4 Genomics Reporting bundle) and
    # <patient_key>.line<N>.mhd.json (IHE MHD document submission), see docs/fhir.md
    fhir: bool = MISSING
    # CSV (patient_key, system, value) mapping pseudonymous keys to the hospital's patient
    # identifiers, for re-identification at the hospital; null: pseudonymous keys only
    fhir_identifiers: Optional[str] = MISSING
    # bundles checked with the fhir.resources models: all (about 30 ms each), first (the first;
    # the others by value sets and references), none
    fhir_validate: str = choice(MISSING, FhirValidate)


@dataclass
class CivicConfig:
    """CIViC clinical evidence summaries (a release TSV) matched to each recommendation.

    Off while ``tsv`` is null. ``diseases`` maps each catalog cancer type to the
    CIViC disease names that count as the same disease; ``biomarker_variants``
    maps a catalog biomarker to the CIViC variant names it stands for (variants
    are also matched by protein change, codon and gene-level ``MUTATION``).
    """

    tsv: Optional[str] = MISSING
    version: Optional[str] = MISSING
    licence: str = "CC0 1.0 (CIViC)"
    evidence_types: List[str] = MISSING
    levels: List[str] = MISSING
    max_items: int = MISSING
    diseases: Dict[str, List[str]] = field(default_factory=dict)
    biomarker_variants: Dict[str, List[str]] = field(default_factory=dict)


@dataclass
class KbConfig:
    """External knowledge bases linked to recommendations."""

    civic: CivicConfig = field(default_factory=CivicConfig)


# ---------------------------------------------------------------------------- compute
@dataclass
class ComputeConfig:
    """Where the stages' independent work runs (see docs/scale.md).

    ``local``: in the stage's own process, as before (Dask is not imported).
    ``dask``: on a Dask cluster; with ``address`` null a ``LocalCluster`` of ``n_workers``
    processes (``threads_per_worker`` threads, ``memory_limit`` each) is started for the
    stage and closed after it; with ``address`` (``tcp://host:8786``) an existing
    scheduler is joined. Results do not depend on the number of workers.
    """

    backend: str = "local"  # local | dask
    address: Optional[str] = None
    n_workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "4GiB"  # per worker (LocalCluster only); "auto" or e.g. "8GiB"
    processes: bool = True  # LocalCluster: worker processes (false: threads in one process)
    dashboard_address: Optional[str] = ":0"  # LocalCluster dashboard (null: none)
    # tasks per worker for work split by rows (ingest batches, recommend partitions)
    partitions_per_worker: int = 4
    # seconds to wait for the scheduler and the workers before giving up
    timeout: float = 60.0
    # dask: canonical tables as partitioned Parquet, about this many patients a partition
    # (patients hashed to partitions; featurize runs one task per partition); and at most
    # this many patients in a recommend or report task (ranges of sorted patient keys)
    partition_patients: int = 2500


# ---------------------------------------------------------------------------- root
@dataclass
class Config:
    """The composed configuration of one pipeline run."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    cohort: CohortConfig = field(default_factory=CohortConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    endpoints: Dict[str, EndpointConfig] = field(default_factory=dict)
    model: ModelConfig = field(default_factory=ModelConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    kb: KbConfig = field(default_factory=KbConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    propensity: PropensityConfig = field(default_factory=PropensityConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
