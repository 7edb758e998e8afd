"""French wording of the reports: every phrase of one language in one table.

Sections by the part of the reports that reads them (``report/i18n.py`` looks them up:
:data:`precision_onco.report.i18n.PHRASES`). The other language's module has the same
sections and keys (``tests/report/test_phrases.py``).

French labels use the terms French oncologists use (« réponse objective »,
« toxicité de grade ≥ 3 », « ligne de traitement »).
"""

from __future__ import annotations

from typing import Any

FR: dict[str, Any] = {
    #: Labels of the patient report and the model card (report/i18n.py `labels`).
    "labels": {
        "title": "Rapport de recommandation thérapeutique",
        "disclaimer": "Aide à la décision uniquement. Ces estimations proviennent de modèles "
        "statistiques appris sur des patients antérieurs ; elles ne remplacent pas le jugement de "
        "l'oncologue référent ni de la réunion de concertation pluridisciplinaire (RCP), qui "
        "connaissent le patient.",
        "settings": "Paramètres",
        "preset": "Profil d'utilité",
        "generated": "Généré le",
        "patient": "Patient",
        "patient_summary": "Résumé du patient",
        "cancer_type": "Type de cancer",
        "line": "Ligne de traitement",
        "ecog": "Indice de performance ECOG",
        "stage": "Stade",
        "sex": "Sexe",
        "age": "Âge",
        "key_labs": "Principaux résultats biologiques en début de ligne",
        "prior_lines": "Lignes de traitement antérieures",
        "none": "aucune",
        "not_recorded": "non renseigné",
        "regimen": "Protocole",
        "best_response": "Meilleure réponse",
        "max_grade": "Grade maximal d'événement indésirable",
        "genomic_findings": "Altérations génomiques",
        "gene": "Gène",
        "protein_change": "Variation protéique (HGVSp)",
        "vaf": "Fréquence allélique",
        "depth": "Profondeur",
        "actionable": "Ciblable",
        "yes": "oui",
        "no": "non",
        "no_variants": "Aucun variant rapporté.",
        "other_variants": "autre(s) variant(s) non listé(s) : synonymes, non codants ou hors du "
        "panel de gènes des modèles.",
        "ranked_regimens": "Protocoles classés",
        "rank": "Rang",
        "p_response": "Réponse objective",
        "p_ae_grade3": "Toxicité de grade ≥ 3",
        "interval": "intervalle à 95 %",
        "utility": "Utilité",
        "distinguishable": "Distinct du premier",
        "not_distinguishable": "non distinguable du premier",
        "toxicity_profile": "Toxicité de grade ≥ 3 par catégorie",
        "tox_not_modelled": "Non modélisée : la cohorte d'apprentissage ne renseigne pas les "
        "grades d'événements indésirables de ces catégories.",
        "category": "Catégorie",
        "probability": "Probabilité",
        "why": "Pourquoi cette estimation",
        "drivers_up": "Augmentent la probabilité de réponse",
        "drivers_down": "Diminuent la probabilité de réponse",
        "shap_caption": "Contributions (TreeSHAP, log-odds) à la probabilité prédite de réponse",
        "vs_second": "Ce qui le distingue de",
        "evidence": "Niveau de preuve",
        "trial": "Essai pivot",
        "published": "Taux de réponse / de toxicité de grade ≥ 3 publiés",
        "biomarkers_matched": "Biomarqueurs requis présents",
        "civic_items": "Éléments de preuve CIViC",
        "level": "Niveau",
        "direction": "Sens",
        "significance": "Signification",
        "citation": "Référence",
        "no_civic": "Aucun élément CIViC correspondant (ou aucune version de CIViC configurée).",
        "excluded": "Protocoles exclus",
        "reason": "Motif",
        "provenance": "Traçabilité",
        "models": "Modèles enregistrés",
        "version": "Version",
        "alias": "Alias",
        "run": "Exécution MLflow",
        "data_version": "Version des données (SHA-256 des variables)",
        "config_hash": "Empreinte de la configuration (SHA-256 de params.yaml)",
        "catalog_version": "Version du catalogue thérapeutique",
        "training_cohort": "Cohorte d'apprentissage des modèles",
        "not_champion": "modèles de cette exécution, non promus : trop peu de données",
        "kb": "Bases de connaissances et licences",
        "package": "Version de precision_onco",
        "status_cancer_type_not_in_catalog": "Pas de recommandation : ce type de cancer n'est pas "
        "couvert par le catalogue thérapeutique.",
        "status_no_eligible_regimen": "Aucun protocole du catalogue n'est éligible pour ce patient "
        "à cette ligne.",
        "model_card": "Fiche du modèle",
        "cohort": "Cohorte",
        "endpoints": "Critères",
        "metrics": "Performances sur l'échantillon de test (intervalle bootstrap à 95 %)",
        "subgroups": "Sous-groupes",
        "calibration": "Calibration",
        "intended_use": "Usage prévu",
        "limitations": "Limites",
        "importance": "Variables les plus influentes",
        "variant": "Variant",
        "feature": "Variable",
        "mean_shap": "|SHAP| moyen, log-odds",
        "n_patients": "Patients",
        "n_lines": "Lignes de traitement",
    },
    #: Toxicity categories, RECIST codes and sexes (`Labels.term`).
    "terms": {
        "hematologic": "hématologique",
        "gastrointestinal": "digestive",
        "hepatic": "hépatique",
        "skin": "cutanée",
        "pulmonary": "pulmonaire",
        "immune_related": "immuno-médiée",
        "metabolic": "métabolique",
        "CR": "réponse complète",
        "PR": "réponse partielle",
        "SD": "maladie stable",
        "PD": "progression",
        "NE": "non évaluable",
        "M": "homme",
        "F": "femme",
    },
    #: Laboratory values of the patient summary (report/patient.py).
    "labs": {
        "albumin": "Albumine",
        "hemoglobin": "Hémoglobine",
        "platelets": "Plaquettes",
        "nlr": "Rapport neutrophiles/lymphocytes",
        "creatinine_clearance": "Clairance de la créatinine",
        "alt": "ALAT",
        "bilirubin": "Bilirubine",
        "ldh": "LDH",
        "pdl1_tps": "PD-L1 (TPS)",
    },
    #: CIViC evidence directions and significances (`civic_term`); English: CIViC's own.
    "civic": {
        "Supports": "en faveur",
        "Does Not Support": "en défaveur",
        "Sensitivity/Response": "sensibilité/réponse",
        "Resistance": "résistance",
        "Reduced Sensitivity": "sensibilité réduite",
        "Adverse Response": "réponse indésirable",
        "Positive": "positive",
        "Negative": "négative",
        "Better Outcome": "meilleur pronostic",
        "Poor Outcome": "pronostic défavorable",
        "N/A": "n/d",
    },
    #: Exclusion reasons of the eligibility rules, by their English wording (`translate_reason`;
    #: each pattern matches a whole reason); English: as the rules write them.
    "reasons": {
        #: (English pattern, replacement with the pattern's groups, as ``re.sub`` takes it)
        "patterns": [
            (
                r"^indicated for (.+) histology only; the histology \(OncoTree code\) is not "
                r"recorded$",
                r"indiqué pour l'histologie \1 uniquement ; l'histologie (code OncoTree) n'est "
                r"pas renseignée",
            ),
            (
                r"^no training patient with (.+) received (.+): the models cannot score it$",
                r"aucun patient d'apprentissage atteint de \1 n'a reçu \2 : les modèles ne "
                r"peuvent pas l'évaluer",
            ),
            (
                r"^only (\d+) training patient\(s\) with (.+) received (.+) \(at least (\d+) "
                r"needed to score it; model.min_regimen_patients\)$",
                r"seulement \1 patient(s) d'apprentissage atteint(s) de \2 ont reçu \3 (au "
                r"moins \4 nécessaires pour l'évaluer ; model.min_regimen_patients)",
            ),
            (r"^indicated for (.+) histology only$", r"indiqué pour l'histologie \1 uniquement"),
            (r"^indicated for (.+) only$", r"indiqué pour \1 uniquement"),
            (r"^allowed at lines (\d+)-(\d+) only$", r"autorisé en lignes \1 à \2 uniquement"),
            (r"^already received at an earlier line$", "déjà reçu lors d'une ligne antérieure"),
        ],
        #: (English pattern, French template) of the reasons naming a catalog label, by the
        #: kind of label: ``{label}``, the label matched, in French (its ``label_fr``)
        "labels": {
            "biomarker": [
                (r"^requires (?P<label>.+) \(not found\)$", "nécessite : {label} (non retrouvé)"),
                (r"^not for patients with (?P<label>.+)$", "non indiqué en cas de : {label}"),
            ],
            "contraindication": [
                (r"^contraindicated: (?P<label>.+)$", "contre-indiqué : {label}"),
            ],
        },
        #: A regimen that needs a biomarker test first: "needs <what> testing: <rule>, and
        #: <gap>; <gap>…"; catalog labels in <what>, <rule> and a gap's ``{label}`` in French
        "needs_testing": {
            "pattern": r"^needs (?P<what>.+?) testing: (?P<rule>.+?), and (?P<gaps>.*)$",
            "sentence": "test nécessaire ({what}) : {rule} ; {gaps}",
            "gap_separator": " ; ",
            #: (English opening, French) of the rule
            "rule": [
                (r"^not for patients with ", "non indiqué en cas de : "),
                (r"^requires ", "nécessite : "),
                (r"^contraindicated with ", "contre-indiqué en cas de : "),
            ],
            #: between the labels of the rule
            "or": (" or ", " ou "),
            #: (English pattern, French template) of a gap; one matching none is kept
            "gaps": [
                (
                    r"^the patient's assay did not cover (?P<genes>.+?)(?: \(a gene without a "
                    r"call is wild type only where the assay covered it: cohort\.inputs\."
                    r"coverage, genes_tested\))?$",
                    "le panel du patient ne couvrait pas {genes} (un gène sans variant n'est "
                    "considéré comme sauvage que s'il a été analysé)",
                ),
                (
                    r"^(?P<marker>\S+) is not recorded \((?P<label>.+)\)$",
                    "{label} non renseigné ({marker})",
                ),
            ],
        },
        #: The pharmacogenomic reasons (pgx/regimens.py ``pgx_exclusions``: "<basis>: <action>
        #: (<drug>), <source>"), read by report/pgx_section.py ``reason_fr``; the drug in French
        #: from the ``pgx`` section's ``drugs``
        "pgx": {
            #: the parts of an English reason
            "pattern": r"^(?P<basis>.+?): (?P<action>.+) \((?P<drug>\w+)\), (?P<source>[^,]+)$",
            "sentence": "{basis} : {action}{ceiling} ({drug}), {source}",
            #: the actions of pgx_definitions.yaml that avoid a drug (a reason with another
            #: action is not a pharmacogenomic one)
            "actions": {
                "fluoropyrimidines contraindicated": "fluoropyrimidines contre-indiquées",
                "complete DPD deficiency: fluoropyrimidines contraindicated": "déficit complet "
                "en DPD : fluoropyrimidines contre-indiquées",
                "avoid fluoropyrimidines; if no alternative, a strongly reduced dose with early "
                "drug-level monitoring": "éviter les fluoropyrimidines ; à défaut d'alternative, "
                "dose fortement réduite avec suivi pharmacologique précoce",
            },
            #: pgx/guidance.py ``CEILING_NOTE`` (after the action of a rule taken at an
            #: activity score's upper bound) in French
            "ceiling": " (un plafond : les positions non testées ne peuvent qu'abaisser le "
            "score d'activité)",
            #: (English pattern, replacement, as ``re.sub`` takes it) of the basis, in order
            "basis": [
                (r"^DPYD activity score at most ", "score d'activité DPYD au plus "),
                (r"^DPYD activity score ", "score d'activité DPYD "),
                (r"\(other positions not tested", "(autres positions non testées"),
                (r"; other positions not tested", " ; autres positions non testées"),
                (
                    r"^uracilemia (\S+) ng/mL \(complete DPD deficiency\)",
                    r"uracilémie \1 ng/mL (déficit complet en DPD)",
                ),
            ],
            #: a French basis matching this writes its numbers with a decimal comma
            "decimal_comma": r"^(score d'activité DPYD|uracilémie) ",
        },
    },
    #: Feature names (report/wording.py `describe`).
    "feature_names": {
        "albumin": "albumine",
        "hemoglobin": "hémoglobine",
        "platelets": "plaquettes",
        "ldh": "LDH",
        "creatinine_clearance": "clairance de la créatinine",
        "alt": "ALAT",
        "bilirubin": "bilirubine",
        "age_at_line": "âge",
        "tmb": "TMB",
        "pdl1_tps": "PD-L1 (TPS)",
        "nlr": "rapport neutrophiles/lymphocytes",
        "bmi": "IMC",
        "prior_best_response": "meilleure réponse à la ligne précédente",
        "prior_best_response_ever": "meilleure réponse lors des lignes antérieures",
        "stage_rank": "stade",
        "smoking_status": "tabagisme",
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
        "age_at_line": "ans",
        "tmb": "mut/Mb",
        "pdl1_tps": "%",
        "bmi": "kg/m²",
    },
    #: Best-response codes of the history features.
    "best_response": {
        0: "progression",
        1: "maladie stable",
        2: "réponse partielle",
        3: "réponse complète",
    },
    #: Drug classes: (the class, an agent of the class).
    "drug_classes": {
        "chemotherapy": ("chimiothérapie", "chimiothérapie"),
        "targeted": ("thérapie ciblée", "agent ciblé"),
        "immunotherapy": ("immunothérapie", "immunothérapie"),
        "hormonal": ("hormonothérapie", "hormonothérapie"),
        "combination": ("association", "association"),
        "platinum": ("chimiothérapie à base de sel de platine", "sel de platine"),
    },
    #: Oncogenic pathways.
    "pathways": {
        "cell_cycle": "du cycle cellulaire",
        "hippo": "Hippo",
        "myc": "MYC",
        "notch": "NOTCH",
        "nrf2": "NRF2",
        "pi3k": "PI3K",
        "rtk_ras": "RTK/RAS",
        "tgfb": "du TGF-β",
        "tp53": "TP53",
        "wnt": "WNT",
    },
    #: Yes/no features: (when 1, when 0).
    "flags": {
        "sex_male": ("homme", "femme"),
        "msi_high": ("MSI-H", "microsatellites stables (MSS)"),
        "hr_positive": ("récepteurs hormonaux positifs", "récepteurs hormonaux négatifs"),
        "her2_positive": ("HER2 positif", "HER2 négatif"),
        "alk_positive": ("réarrangement d'ALK", "pas de réarrangement d'ALK"),
        "germline_brca_positive": (
            "variant pathogène constitutionnel de BRCA1/2",
            "pas de variant pathogène constitutionnel de BRCA1/2",
        ),
        "autoimmune_disease": ("maladie auto-immune", "pas de maladie auto-immune"),
        "diabetes": ("diabète", "pas de diabète"),
        "ild_history": (
            "antécédent de pneumopathie interstitielle",
            "pas d'antécédent de pneumopathie interstitielle",
        ),
        "prior_grade3": (
            "un antécédent d'événement indésirable de grade ≥ 3",
            "aucun antécédent d'événement indésirable de grade ≥ 3",
        ),
        "prior_irae_grade3": (
            "un antécédent d'événement indésirable immuno-médié de grade ≥ 3",
            "aucun antécédent d'événement indésirable immuno-médié de grade ≥ 3",
        ),
        "required_biomarkers_present": (
            "biomarqueur requis par le protocole présent",
            "biomarqueur requis par le protocole absent",
        ),
        "excluded_biomarker_present": (
            "biomarqueur défavorable au protocole présent",
            "aucun biomarqueur défavorable au protocole",
        ),
    },
    #: Smoking status.
    "smoking": {
        "never": "non-fumeur",
        "former": "ancien fumeur",
        "current": "fumeur actif",
        "unknown": "tabagisme inconnu",
    },
    #: A feature and its value in words (report/wording.py ``describe``), ``str.format``
    #: templates; ``article``/``article_vowel``: before an agent's name.
    "describe": {
        "biomarker": "{label} : {state}",
        "present": "présent",
        "absent": "absent",
        "not_recorded": "{name} : non renseigné",
        "gene_altered": "{gene} altéré",
        "gene_not_altered": "{gene} non altéré",
        "pathway": "{n} gène(s) altéré(s) dans la voie {pathway}",
        "line": "{ordinal} ligne",
        "ordinals": {1: "1re", 2: "2e", 3: "3e", 4: "4e", 5: "5e"},
        "ordinal_other": "{n}e",
        "regimen_class": "protocole de type {cls}",
        "history": "{name} : {value}",
        "stage": "stade {stage}",
        "prior_lines": "{n} ligne(s) antérieure(s)",
        "prior_class": "{n} ligne(s) antérieure(s) avec {name}",
        "regimen_has": "{agent} dans le protocole",
        "regimen_has_not": "pas {article}{agent} dans le protocole",
        "article": "de ",
        "article_vowel": "d’",
        "class_received": "{name} déjà reçue auparavant",
        "class_not_received": "{name} jamais reçue auparavant",
    },
    #: What separates the first regimen from the second (report/i18n.py
    #: ``separation_sentence``).
    "separation": {
        "differs": "{first} plutôt que {second} ({difference})",
        "same": "{first}, qui pèse {more_or_less} avec ce protocole ({difference})",
        "more": "davantage",
        "less": "moins",
        "and": " et ",
        "sentence": "Par rapport à {second}, sa probabilité de réponse prédite tient surtout "
        "à : {body}.",
    },
    #: The model card's own texts (report/model_card.py).
    "model_card": {
        "intended": "Aide à la décision pour les oncologues choisissant parmi les protocoles du "
        "catalogue thérapeutique, chez l'adulte atteint d'un des cancers du catalogue, à une "
        "ligne donnée : probabilités de réponse objective et de toxicité de grade ≥ 3, avec "
        "intervalles et justifications. Ne pas utiliser sans l'équipe soignante, pour des "
        "cancers ou protocoles hors catalogue, ni comme seul fondement d'une décision.",
        "limits": [
            "Appris sur des données observationnelles : le traitement a suivi le jugement des "
            "cliniciens ; les estimations pour des protocoles rarement donnés à des patients "
            "semblables reposent sur peu de cas (voir les intervalles).",
            "Calibration et discrimination sont mesurées sur des patients de test de la même "
            "cohorte ; un nouveau centre ou une nouvelle période demandent leur propre "
            "évaluation avant usage.",
            "Les toxicités rares comptent peu d'événements : leurs probabilités sont incertaines "
            "et leurs intervalles larges.",
            "Les variants sans annotation de variation protéique ne peuvent satisfaire les "
            "règles de biomarqueurs du catalogue ; annoter les VCF avant usage.",
        ],
        "synthetic": "Cette fiche décrit des modèles appris sur la cohorte synthétique embarquée "
        "; ses chiffres montrent que la chaîne fonctionne, pas ses performances sur de vrais "
        "patients.",
        "subgroup_of": "par",
        "cancer_type": "type de cancer",
        "line": "ligne",
        "sex": "sexe",
        "rows": "lignes de test",
        "patients": "patients de test",
        "events": "événements",
        "bayes": "AUC des vraies probabilités",
        "coverage": "couverture de la vérité par l'intervalle",
        "observed": "observé",
        "predicted": "prédit",
        "intended_response_only": "Aide à la décision pour les oncologues choisissant parmi les "
        "protocoles du catalogue thérapeutique, chez l'adulte atteint d'un des cancers du "
        "catalogue, à une ligne donnée : probabilités de {what}, avec intervalles et "
        "justifications. Cette cohorte ne renseigne pas les grades d'événements indésirables : "
        "aucune toxicité n'est prédite. Ne pas utiliser sans l'équipe soignante, pour des "
        "cancers ou protocoles hors catalogue, ni comme seul fondement d'une décision.",
        "warnings": "À lire d'abord",
        "inputs": "Variables d'entrée des modèles",
        "inputs_intro": "Les modèles lisent ces {n} variables, toutes connues au début de la "
        "ligne (variables canoniques et colonnes déclarées de la cohorte) ; le garde-fou contre "
        "les fuites d'information les a toutes vérifiées.",
        "not_modelled": "{ep} n'est pas modélisé : {why}.",
        "small_test": "{ep} : seulement {n} événements chez les patients de test ; les chiffres "
        "présentés d'abord sont en validation croisée à {k} plis sur tous les patients.",
        "small_test_no_cv": "{ep} : seulement {n} événements chez les patients de test ; les "
        "chiffres ci-dessous sont très incertains (split.cv_folds=5 pour une validation "
        "croisée).",
        "cv": "validation croisée ({k} plis)",
        "held_out": "patients de test",
        "external": "Validation externe : les chiffres de test sont mesurés sur le fichier de "
        "validation distinct {file} (cohort.inputs.test_lines), dont les patients n'ont jamais "
        "servi à l'apprentissage.",
        "policy_skipped": "L'étude des stratégies n'est pas présentée : {why}.",
        "guard_off": "Le garde-fou contre les fuites d'information était désactivé pour cette "
        "exécution (features.leakage.enabled=false).",
        "allowed": "Variables exemptées du garde-fou : {cols}.",
    },
    #: The model card's policy section (report/policy_card.py); outcomes by role.
    "policy": {
        "title": "Suivre les recommandations améliore-t-il les résultats ?",
        "intro": "Chaque stratégie choisit un traitement par ligne de test. Sa valeur est "
        "estimée à partir des résultats réellement observés, en pondérant les lignes où la "
        "pratique a choisi comme la stratégie (IPW, carrés) et en corrigeant les modèles de "
        "résultat par ces lignes (doublement robuste, DR, points) ; barres foncées : "
        "intervalles à 95 % du DR par bootstrap sur les patients, barres claires : bandes "
        "simultanées à 95 % sur toutes les stratégies et tous les critères.",
        "truth": "Sur cette cohorte synthétique, les vraies probabilités sont connues : les "
        "losanges marquent la vraie valeur de chaque stratégie, la ligne pointillée celle "
        "de l'oracle (le traitement éligible réellement le meilleur à chaque ligne).",
        "policy": "Stratégie",
        "utility": "Utilité",
        "efficacy": "Réponse",
        "any_severe_ae": "Toxicité de grade ≥ 3",
        "true": "vraie",
        "regret": "Regret normalisé",
        "agreement": "Même choix que l'oracle",
        "low": "Choix rares en pratique",
        "vs_practice": "Utilité moins la pratique (DR, apparié)",
        "dr": "DR",
        "ipw": "IPW",
        "oracle_line": "oracle (vrai)",
        "training": "Apprentissage naïf et pondéré par le score de propension comparés",
        "variant": "Apprentissage",
        "naive": "naïf",
        "propensity_weighted": "pondéré",
        "used": "utilisé par cette exécution",
        "cf_error": "Erreur sur les traitements non reçus (réponse, moyenne |prédit − vrai|)",
        "summary": "{policy} par rapport à la pratique observée : {gain} point d'utilité "
        "({on}) ; regret normalisé {regret}.",
        "paired": "Estimé à partir des seuls résultats observés (doublement robuste, apparié "
        "à la pratique sur les mêmes rééchantillons) : {gain} [{low} ; {high}].",
        "on_true": "vraies valeurs",
        "on_dr": "estimations doublement robustes",
        "recommender": "Recommandation",
        "practice": "Pratique observée",
        "guideline": "Règle de préférence du catalogue",
        "random": "Traitement éligible au hasard",
        "oracle": "Oracle (réellement le meilleur)",
        "aria": "Valeur des stratégies pour {outcome} : estimations doublement robustes et "
        "intervalles",
    },
    #: The model card's pharmacogenomics section (report/pgx_card.py).
    "pgx_card": {
        "title": "Pharmacogénomique et dose (DPYD, UGT1A1)",
        "intro": "Toxicité hématologique et digestive de grade ≥ 3 sur les lignes de test "
        "traitées par une fluoropyrimidine (groupes DPYD ; porteurs : score d'activité "
        "inférieur à 2) ou par l'irinotécan (groupes UGT1A1). Les modèles de toxicité "
        "prennent en entrée le score d'activité DPYD, le statut de métaboliseur lent "
        "UGT1A1 et la dose initiale relative.",
        "group": "Groupe",
        "endpoint": "Critère",
        "n": "Lignes",
        "events": "Événements",
        "auc": "AUC [IC 95 %]",
        "predicted": "Prédiction moyenne",
        "observed": "Taux observé",
        "true": "Probabilité vraie moyenne",
        "ece": "ECE",
        "groups": {
            "dpyd_carrier": "Porteurs DPYD",
            "dpyd_non_carrier": "Non-porteurs DPYD",
            "ugt1a1_poor": "Métaboliseurs lents UGT1A1",
            "ugt1a1_not_poor": "UGT1A1 normal/intermédiaire",
        },
        "endpoints": {
            "ae_grade3": "tout grade ≥ 3",
            "ae_hematologic_grade3": "hématologique",
            "ae_gastrointestinal_grade3": "digestive",
        },
        "dosing": "Dose recommandée et dose observée (probabilités vraies du simulateur) : le "
        "protocole recommandé en premier, s'il contient une fluoropyrimidine, à sa dose "
        "initiale recommandée, comparé au même protocole à la dose que la pratique "
        "aurait donnée ({n} lignes de test, dont {c} de porteurs DPYD).",
        "rec": "Dose recommandée",
        "obs": "Dose observée",
        "diff": "Différence [IC 95 %]",
        "diff_carriers": "Porteurs DPYD : différence [IC 95 %]",
        "safety": "Patients avec un score d'activité DPYD de 0 ou une uracilémie ≥ 150 ng/mL : "
        "{d} lignes de test ; fluoropyrimidine proposée {o} fois, recommandée {r} fois.",
        "lower": "Les doses recommandées abaissent la toxicité vraie de grade ≥ 3.",
        "not_lower": "Les doses recommandées n'abaissent pas la toxicité vraie de grade ≥ 3.",
    },
    #: Display texts of the FHIR bundles (report/fhir_out/texts.py).
    "fhir": {
        "task_code": "Traitement proposé (aide à la décision)",
        "medication": "médicament",
        "rank": "rang",
        "not_recommended": "non retenu par les règles du catalogue",
        "rank_text": "Rang {rank} : {regimen}",
        "efficacy": "réponse objective {p} [{lo}–{hi}]",
        "toxicity": "toxicité de grade ≥ 3 {p} [{lo}–{hi}]",
        "not_distinguishable": "non distinguable du premier",
        "trial": "essai pivot {trial} ({population})",
        "civic": "niveau de preuve CIViC {level}",
        "tmb": "Charge mutationnelle tumorale",
        "msi_status": "Instabilité microsatellitaire",
        "pdl1_tps": "PD-L1 (score de proportion tumorale)",
        "her2_status": "Statut HER2",
        "report_html": "Rapport de recommandation (HTML)",
        "report_pdf": "Rapport de recommandation (PDF)",
        "submission": "Rapport de recommandation thérapeutique pour le dossier du patient",
    },
    #: The patient report's "Pharmacogenomics and dose" section (report/pgx_section.py).
    "pgx": {
        #: the section's labels (the template reads them as ``px.labels``) and notes
        "labels": {
            "title": "Pharmacogénomique et dose",
            "gene": "Examen",
            "result": "Résultat",
            "regimen": "Protocole",
            "drug": "Médicament",
            "start": "Dose initiale",
            "guidance": "Conduite à tenir",
            "source": "Source",
            "dpyd": "Score d'activité DPYD",
            "ugt1a1": "UGT1A1",
            "uracil": "Uracilémie",
            "not_tested": "non testé",
            #: an indeterminate DPYD call: only an upper bound of the score is known
            "dpyd_bound": "au plus {score} (indéterminé : autres positions non testées)",
            "avoid": "à éviter",
            "of_standard": "de la dose standard",
            "untested_fp": "Statut DPD non testé avant une fluoropyrimidine : doser l'uracilémie "
            "(obligatoire en France) et/ou génotyper DPYD avant la première dose.",
            "uracil_used": "Résultat d'uracilémie pris en compte.",
            "none": "Aucun protocole classé ne comporte de règle de dose pharmacogénomique.",
        },
        #: the drugs with a dose rule (a drug not listed is written as the rules name it)
        "drugs": {
            "fluorouracil": "fluorouracile",
            "capecitabine": "capécitabine",
            "irinotecan": "irinotécan",
        },
        #: UGT1A1 phenotypes; ``phenotype_other`` words one not listed (``{}``: as recorded)
        "phenotypes": {
            "normal": "métaboliseur normal",
            "intermediate": "métaboliseur intermédiaire",
            "poor": "métaboliseur lent",
            "indeterminate": "indéterminé",
        },
        "phenotype_other": "{}",
        #: uracilemia bands (pgx_definitions.yaml ``deficiency``)
        "deficiency": {
            "none": "pas de déficit",
            "partial": "déficit partiel",
            "complete": "déficit complet",
        },
        #: a starting dose: ``{pct}`` percent of the standard dose (``labels.of_standard``)
        "start_percent": "{pct}\u202f% {of_standard}",
    },
    #: Genotype observations of the FHIR bundles (report/fhir_out/observations.py).
    "fhir_pgx": {
        "score": "Score d'activité DPYD (CPIC)",
        "bound": "Score d'activité DPYD, borne supérieure (positions non testées)",
        "not_tested": "non testé",
        "source": "Recommandation",
    },
}
