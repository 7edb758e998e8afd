"""English wording of the reports: every phrase of one language in one table.

Sections by the part of the reports that reads them (``report/i18n.py`` looks them up:
:data:`precision_onco.report.i18n.PHRASES`). The other language's module has the same
sections and keys (``tests/report/test_phrases.py``).
"""

from __future__ import annotations

from typing import Any

EN: dict[str, Any] = {
    #: Labels of the patient report and the model card (report/i18n.py `labels`).
    "labels": {
        "title": "Treatment recommendation report",
        "disclaimer": "Decision support only. These estimates come from statistical models trained "
        "on past patients; they do not replace the judgement of the treating oncologist and the "
        "tumour board, who know the patient.",
        "settings": "Settings",
        "preset": "Utility preset",
        "generated": "Generated",
        "patient": "Patient",
        "patient_summary": "Patient summary",
        "cancer_type": "Cancer type",
        "line": "Line of treatment",
        "ecog": "ECOG performance status",
        "stage": "Stage",
        "sex": "Sex",
        "age": "Age",
        "key_labs": "Key laboratory values at line start",
        "prior_lines": "Prior lines of treatment",
        "none": "none",
        "not_recorded": "not recorded",
        "regimen": "Regimen",
        "best_response": "Best response",
        "max_grade": "Worst adverse-event grade",
        "genomic_findings": "Genomic findings",
        "gene": "Gene",
        "protein_change": "Protein change (HGVSp)",
        "vaf": "Allele fraction",
        "depth": "Depth",
        "actionable": "Actionable",
        "yes": "yes",
        "no": "no",
        "no_variants": "No variant reported.",
        "other_variants": "other variant(s) not listed: synonymous, non-coding or outside the "
        "models' gene panel.",
        "ranked_regimens": "Ranked regimens",
        "rank": "Rank",
        "p_response": "Objective response",
        "p_ae_grade3": "Grade ≥ 3 toxicity",
        "interval": "95% interval",
        "utility": "Utility",
        "distinguishable": "Distinguishable from the first",
        "not_distinguishable": "not distinguishable from the first",
        "toxicity_profile": "Grade ≥ 3 toxicity by category",
        "tox_not_modelled": "Not modelled: the training cohort records no adverse-event grades "
        "for these categories.",
        "category": "Category",
        "probability": "Probability",
        "why": "Why this estimate",
        "drivers_up": "Raise the probability of response",
        "drivers_down": "Lower the probability of response",
        "shap_caption": "Contributions (TreeSHAP, log-odds) to the predicted probability of "
        "response",
        "vs_second": "What separates it from",
        "evidence": "Evidence",
        "trial": "Pivotal trial",
        "published": "Published response rate / grade ≥ 3 rate",
        "biomarkers_matched": "Biomarkers it relies on",
        "civic_items": "CIViC evidence items",
        "level": "Level",
        "direction": "Direction",
        "significance": "Significance",
        "citation": "Citation",
        "no_civic": "No CIViC item matches (or no CIViC release configured).",
        "excluded": "Excluded regimens",
        "reason": "Reason",
        "provenance": "Provenance",
        "models": "Registered models",
        "version": "Version",
        "alias": "Alias",
        "run": "MLflow run",
        "data_version": "Data version (SHA-256 of the features)",
        "config_hash": "Configuration hash (SHA-256 of params.yaml)",
        "catalog_version": "Therapy catalog version",
        "training_cohort": "Training cohort of the models",
        "not_champion": "this run's models, not registered champions: too little data to promote",
        "kb": "Knowledge bases and licences",
        "package": "precision_onco version",
        "status_cancer_type_not_in_catalog": "No recommendation: this cancer type is not in the "
        "therapy catalog.",
        "status_no_eligible_regimen": "No eligible regimen in the catalog for this patient at this "
        "line.",
        "model_card": "Model card",
        "cohort": "Cohort",
        "endpoints": "Endpoints",
        "metrics": "Held-out performance (95% bootstrap interval)",
        "subgroups": "Subgroups",
        "calibration": "Calibration",
        "intended_use": "Intended use",
        "limitations": "Limitations",
        "importance": "Most influential features",
        "variant": "Variant",
        "feature": "Feature",
        "mean_shap": "mean |SHAP|, log-odds",
        "n_patients": "Patients",
        "n_lines": "Therapy lines",
    },
    #: Toxicity categories, RECIST codes and sexes (`Labels.term`).
    "terms": {
        "hematologic": "hematologic",
        "gastrointestinal": "gastrointestinal",
        "hepatic": "hepatic",
        "skin": "skin",
        "pulmonary": "pulmonary",
        "immune_related": "immune-related",
        "metabolic": "metabolic",
        "CR": "complete response",
        "PR": "partial response",
        "SD": "stable disease",
        "PD": "progressive disease",
        "NE": "not evaluable",
        "M": "male",
        "F": "female",
    },
    #: Laboratory values of the patient summary (report/patient.py).
    "labs": {
        "albumin": "Albumin",
        "hemoglobin": "Hemoglobin",
        "platelets": "Platelets",
        "nlr": "Neutrophil-to-lymphocyte ratio",
        "creatinine_clearance": "Creatinine clearance",
        "alt": "ALT",
        "bilirubin": "Bilirubin",
        "ldh": "LDH",
        "pdl1_tps": "PD-L1 TPS",
    },
    #: CIViC evidence directions and significances (`civic_term`); English: CIViC's own.
    "civic": {},
    #: Exclusion reasons of the eligibility rules (`translate_reason`): English as the rules
    #: write them, nothing to translate.
    "reasons": {},
    #: Feature names (report/wording.py `describe`).
    "feature_names": {
        "albumin": "albumin",
        "hemoglobin": "hemoglobin",
        "platelets": "platelets",
        "ldh": "LDH",
        "creatinine_clearance": "creatinine clearance",
        "alt": "ALT",
        "bilirubin": "bilirubin",
        "age_at_line": "age",
        "tmb": "TMB",
        "pdl1_tps": "PD-L1 TPS",
        "nlr": "neutrophil-to-lymphocyte ratio",
        "bmi": "BMI",
        "prior_best_response": "best response at the previous line",
        "prior_best_response_ever": "best response at any earlier line",
        "stage_rank": "stage",
        "smoking_status": "smoking status",
    },
    #: Units of the numeric features.
    "units": {
        "albumin": "g/dL",
        "hemoglobin": "g/dL",
        "platelets": "x10^9/L",
        "ldh": "U/L",
        "creatinine_clearance": "mL/min",
        "alt": "U/L",
        "bilirubin": "mg/dL",
        "age_at_line": "years",
        "tmb": "mut/Mb",
        "pdl1_tps": "%",
        "bmi": "kg/m²",
    },
    #: Best-response codes of the history features.
    "best_response": {
        0: "progressive disease",
        1: "stable disease",
        2: "partial response",
        3: "complete response",
    },
    #: Drug classes: (the class, an agent of the class).
    "drug_classes": {
        "chemotherapy": ("chemotherapy", "chemotherapy agent"),
        "targeted": ("targeted therapy", "targeted agent"),
        "immunotherapy": ("immunotherapy", "immunotherapy agent"),
        "hormonal": ("hormonal therapy", "hormonal agent"),
        "combination": ("combination", "combination"),
        "platinum": ("platinum-based chemotherapy", "platinum agent"),
    },
    #: Oncogenic pathways.
    "pathways": {
        "cell_cycle": "cell-cycle",
        "hippo": "Hippo",
        "myc": "MYC",
        "notch": "NOTCH",
        "nrf2": "NRF2",
        "pi3k": "PI3K",
        "rtk_ras": "RTK/RAS",
        "tgfb": "TGF-β",
        "tp53": "TP53",
        "wnt": "WNT",
    },
    #: Yes/no features: (when 1, when 0).
    "flags": {
        "sex_male": ("male", "female"),
        "msi_high": ("MSI-high", "microsatellite stable"),
        "hr_positive": ("hormone-receptor positive", "hormone-receptor negative"),
        "her2_positive": ("HER2 positive", "HER2 negative"),
        "alk_positive": ("ALK rearrangement", "no ALK rearrangement"),
        "germline_brca_positive": (
            "germline BRCA1/2 pathogenic variant",
            "no germline BRCA1/2 pathogenic variant",
        ),
        "autoimmune_disease": ("autoimmune disease", "no autoimmune disease"),
        "diabetes": ("diabetes", "no diabetes"),
        "ild_history": (
            "history of interstitial lung disease",
            "no history of interstitial lung disease",
        ),
        "prior_grade3": ("a prior grade >= 3 adverse event", "no prior grade >= 3 adverse event"),
        "prior_irae_grade3": (
            "a prior grade >= 3 immune-related adverse event",
            "no prior grade >= 3 immune-related adverse event",
        ),
        "required_biomarkers_present": (
            "the biomarker the regimen requires is present",
            "the biomarker the regimen requires is absent",
        ),
        "excluded_biomarker_present": (
            "a biomarker that argues against the regimen",
            "no biomarker against the regimen",
        ),
    },
    #: Smoking status.
    "smoking": {
        "never": "never smoker",
        "former": "former smoker",
        "current": "current smoker",
        "unknown": "smoking status unknown",
    },
    #: A feature and its value in words (report/wording.py ``describe``), ``str.format``
    #: templates; ``article``/``article_vowel``: before an agent's name.
    "describe": {
        "biomarker": "{label} {state}",
        "present": "present",
        "absent": "absent",
        "not_recorded": "{name} not recorded",
        "gene_altered": "{gene} altered",
        "gene_not_altered": "{gene} not altered",
        "pathway": "{n} altered gene(s) in the {pathway} pathway",
        "line": "{ordinal} line",
        "ordinals": {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"},
        "ordinal_other": "{n}th",
        "regimen_class": "{cls} regimen",
        "history": "{name}: {value}",
        "stage": "stage {stage}",
        "prior_lines": "{n} earlier line(s)",
        "prior_class": "{n} earlier line(s) with {name}",
        "regimen_has": "{article} {agent} in the regimen",
        "regimen_has_not": "no {agent} in the regimen",
        "article": "a",
        "article_vowel": "an",
        "class_received": "{name} already received",
        "class_not_received": "{name} not received before",
    },
    #: What separates the first regimen from the second (report/i18n.py
    #: ``separation_sentence``).
    "separation": {
        "differs": "{first} rather than {second} ({difference})",
        "same": "{first}, which counts {more_or_less} with this regimen ({difference})",
        "more": "more",
        "less": "less",
        "and": " and ",
        "sentence": "Compared with {second}, its predicted response owes most to {body}.",
    },
    #: The model card's own texts (report/model_card.py).
    "model_card": {
        "intended": "Decision support for oncologists choosing among the therapy catalog's "
        "regimens for adult patients with the catalog's cancer types, at a given line: "
        "probabilities of objective response and of grade ≥ 3 toxicity, with intervals and "
        "reasons. Not for use without the treating team, for cancers or regimens outside the "
        "catalog, or as the sole basis of a decision.",
        "limits": [
            "Trained on observational data: treatment followed clinicians' judgement, so "
            "estimates for regimens rarely given to patients like this one rest on few cases "
            "(see the intervals).",
            "Calibration and discrimination are measured on held-out patients of the same "
            "cohort; a new centre or period needs its own evaluation before use.",
            "Rare toxicities have few events: their probabilities are uncertain and their "
            "intervals wide.",
            "Variants without a protein-change annotation cannot satisfy the catalog's "
            "biomarker rules; annotate VCFs before use.",
        ],
        "synthetic": "This card describes models trained on the embedded synthetic cohort: "
        "its figures show the pipeline works, not how it performs on real patients.",
        "subgroup_of": "by",
        "cancer_type": "cancer type",
        "line": "line",
        "sex": "sex",
        "rows": "test rows",
        "patients": "test patients",
        "events": "events",
        "bayes": "AUC of the true probabilities",
        "coverage": "interval coverage of the truth",
        "observed": "observed",
        "predicted": "predicted",
        "intended_response_only": "Decision support for oncologists choosing among the therapy "
        "catalog's regimens for adult patients with the catalog's cancer types, at a given "
        "line: probabilities of {what}, with intervals and reasons. This cohort records no "
        "adverse-event grades: no toxicity is predicted. Not for use without the treating team, "
        "for cancers or regimens outside the catalog, or as the sole basis of a decision.",
        "warnings": "Read first",
        "inputs": "Model inputs",
        "inputs_intro": "The models read these {n} inputs, all known when the line starts "
        "(canonical features and the cohort's declared extra columns); the leakage guard "
        "checked each of them.",
        "not_modelled": "{ep} is not modelled: {why}.",
        "small_test": "{ep}: only {n} events among the held-out patients; the figures first "
        "shown are {k}-fold cross-validated over every labelled patient.",
        "small_test_no_cv": "{ep}: only {n} events among the held-out patients; the held-out "
        "figures below are very uncertain (set split.cv_folds=5 for cross-validated ones).",
        "cv": "cross-validated ({k} folds)",
        "held_out": "held-out",
        "external": "External validation: the held-out figures are measured on the separate "
        "validation file {file} (cohort.inputs.test_lines), whose patients the models never "
        "saw.",
        "policy_skipped": "The policy study is not shown: {why}.",
        "guard_off": "The leakage guard was switched off for this run "
        "(features.leakage.enabled=false).",
        "allowed": "Inputs exempted from the leakage guard: {cols}.",
    },
    #: The model card's policy section (report/policy_card.py); outcomes by role.
    "policy": {
        "title": "Does following the recommendations help?",
        "intro": "Each policy chooses one regimen per held-out line. Its value is estimated "
        "from the outcomes actually observed, weighting the lines where practice chose as "
        "the policy would (IPW, squares) and correcting the outcome models with those lines "
        "(doubly robust, DR, dots); dark bars: 95% patient-bootstrap intervals of DR, light "
        "bars: simultaneous 95% bands over every policy and outcome.",
        "truth": "On this synthetic cohort the true probabilities are known: diamonds mark "
        "each policy's true value, the dashed line the oracle's (the truly best eligible "
        "regimen on every line).",
        "policy": "Policy",
        "utility": "Utility",
        "efficacy": "Response",
        "any_severe_ae": "Any grade ≥ 3 toxicity",
        "true": "true",
        "regret": "Normalized regret",
        "agreement": "Same choice as the oracle",
        "low": "Choices practice rarely made",
        "vs_practice": "Utility minus practice (DR, paired)",
        "dr": "DR",
        "ipw": "IPW",
        "oracle_line": "oracle (true)",
        "training": "Naive and propensity-weighted training compared",
        "variant": "Training",
        "naive": "naive",
        "propensity_weighted": "propensity-weighted",
        "used": "used by this run",
        "cf_error": "Error on counterfactual regimens (response, mean |predicted − true|)",
        "summary": "{policy} against observed practice: {gain} utility points ({on}); "
        "normalized regret {regret}.",
        "paired": "Estimated from the observed outcomes alone (doubly robust, paired with "
        "practice on the same resamples): {gain} [{low}, {high}].",
        "on_true": "true values",
        "on_dr": "doubly robust estimates",
        "recommender": "Recommender",
        "practice": "Observed practice",
        "guideline": "Guideline rule (catalog preference)",
        "random": "Random eligible regimen",
        "oracle": "Oracle (truly best)",
        "aria": "Policy values on {outcome}: doubly robust estimates with intervals",
    },
    #: The model card's pharmacogenomics section (report/pgx_card.py).
    "pgx_card": {
        "title": "Pharmacogenomics and dose (DPYD, UGT1A1)",
        "intro": "Grade ≥ 3 hematologic and gastrointestinal toxicity on the held-out lines "
        "given a fluoropyrimidine (DPYD groups; carriers: activity score below 2) or "
        "irinotecan (UGT1A1 groups). The toxicity models take the DPYD activity score, "
        "the UGT1A1 poor-metaboliser flag and the relative starting dose as inputs.",
        "group": "Group",
        "endpoint": "Endpoint",
        "n": "Lines",
        "events": "Events",
        "auc": "AUC [95% CI]",
        "predicted": "Mean predicted",
        "observed": "Observed rate",
        "true": "Mean true probability",
        "ece": "ECE",
        "groups": {
            "dpyd_carrier": "DPYD carriers",
            "dpyd_non_carrier": "DPYD non-carriers",
            "ugt1a1_poor": "UGT1A1 poor metabolisers",
            "ugt1a1_not_poor": "UGT1A1 normal/intermediate",
        },
        "endpoints": {
            "ae_grade3": "any grade ≥ 3",
            "ae_hematologic_grade3": "hematologic",
            "ae_gastrointestinal_grade3": "gastrointestinal",
        },
        "dosing": "Recommended vs observed dosing (true probabilities from the simulator): the "
        "recommender's top regimen, when it holds a fluoropyrimidine, at its recommended "
        "starting dose against the same regimen at the dose practice would have given it "
        "({n} held-out lines, {c} of DPYD carriers).",
        "rec": "Recommended dose",
        "obs": "Observed dosing",
        "diff": "Difference [95% CI]",
        "diff_carriers": "DPYD carriers: difference [95% CI]",
        "safety": "Patients with DPYD activity score 0 or uracilemia ≥ 150 ng/mL: {d} held-out "
        "lines; a fluoropyrimidine offered {o} times, recommended {r} times.",
        "lower": "Recommended doses lower the true grade ≥ 3 toxicity.",
        "not_lower": "Recommended doses do not lower the true grade ≥ 3 toxicity.",
    },
    #: Display texts of the FHIR bundles (report/fhir_out/texts.py).
    "fhir": {
        "task_code": "Proposed treatment (decision support)",
        "medication": "medication",
        "rank": "rank",
        "not_recommended": "not recommended by the catalog's rules",
        "rank_text": "Rank {rank}: {regimen}",
        "efficacy": "objective response {p} [{lo}–{hi}]",
        "toxicity": "grade ≥ 3 toxicity {p} [{lo}–{hi}]",
        "not_distinguishable": "not distinguishable from the first",
        "trial": "pivotal trial {trial} ({population})",
        "civic": "CIViC evidence level {level}",
        "tmb": "Tumour mutational burden",
        "msi_status": "Microsatellite instability",
        "pdl1_tps": "PD-L1 tumour proportion score",
        "her2_status": "HER2 status",
        "report_html": "Recommendation report (HTML)",
        "report_pdf": "Recommendation report (PDF)",
        "submission": "Treatment recommendation report for the patient's record",
    },
    #: The patient report's "Pharmacogenomics and dose" section (report/pgx_section.py).
    "pgx": {
        #: the section's labels (the template reads them as ``px.labels``) and notes
        "labels": {
            "title": "Pharmacogenomics and dose",
            "gene": "Test",
            "result": "Result",
            "regimen": "Regimen",
            "drug": "Drug",
            "start": "Starting dose",
            "guidance": "Guidance",
            "source": "Source",
            "dpyd": "DPYD activity score",
            "ugt1a1": "UGT1A1",
            "uracil": "Plasma uracil",
            "not_tested": "not tested",
            #: an indeterminate DPYD call: only an upper bound of the score is known
            "dpyd_bound": "at most {score} (indeterminate: other positions not tested)",
            "avoid": "avoid",
            "of_standard": "of the standard dose",
            "untested_fp": "DPD status untested before a fluoropyrimidine: measure uracilemia "
            "(mandatory in France) and/or genotype DPYD before the first dose.",
            "uracil_used": "Uracilemia result taken into account for the fluoropyrimidine dose.",
            "none": "No regimen with a pharmacogenomic dose rule among the ranked regimens.",
        },
        #: the drugs with a dose rule (a drug not listed is written as the rules name it)
        "drugs": {
            "fluorouracil": "fluorouracil",
            "capecitabine": "capecitabine",
            "irinotecan": "irinotecan",
        },
        #: UGT1A1 phenotypes; ``phenotype_other`` words one not listed (``{}``: as recorded)
        "phenotypes": {
            "normal": "normal metaboliser",
            "intermediate": "intermediate metaboliser",
            "poor": "poor metaboliser",
            "indeterminate": "indeterminate metaboliser",
        },
        "phenotype_other": "{} metaboliser",
        #: uracilemia bands (pgx_definitions.yaml ``deficiency``)
        "deficiency": {
            "none": "no DPD deficiency",
            "partial": "partial DPD deficiency",
            "complete": "complete DPD deficiency",
        },
        #: a starting dose: ``{pct}`` percent of the standard dose (``labels.of_standard``)
        "start_percent": "{pct}% {of_standard}",
    },
    #: Genotype observations of the FHIR bundles (report/fhir_out/observations.py).
    "fhir_pgx": {
        "score": "DPYD activity score (CPIC)",
        "bound": "DPYD activity score, upper bound (positions not tested)",
        "not_tested": "not tested",
        "source": "Guideline",
    },
}
