"""Code lists the synthetic trust records, each with its term.

Diagnosis codes are held in their canonical dotted ICD-10 form (SNOMED codes have no dot); a
site's recording habit (North writes 'I63.9', South writes 'I639') is applied when written.
"""

from __future__ import annotations

from carevalue.sources import feeds

SITES: tuple[str, ...] = ("North", "South")
NORTH, SOUTH = 0, 1

SPECIALTIES: tuple[str, ...] = (
    "Emergency Medicine",
    "General Medicine",
    "General Surgery",
    "Trauma and Orthopaedics",
    "Cardiology",
    "Cardiac Surgery",
    "Stroke Medicine",
    "Stroke Rehabilitation",
    "Infectious Diseases",
    "Hepatology",
    "Gastroenterology",
    "Ophthalmology",
    "Dermatology",
)
SPECIALTY = {name: i for i, name in enumerate(SPECIALTIES)}

SETTING = {name: i for i, name in enumerate(feeds.SETTINGS)}
ADMISSION_METHOD = {name: i for i, name in enumerate(feeds.ADMISSION_METHODS)}
DISCHARGE = {name: i for i, name in enumerate(feeds.DISCHARGE_DESTINATIONS)}

# code -> (code_system, term)
DIAGNOSES: dict[str, tuple[str, str]] = {
    # Stroke
    "I61.0": ("ICD10", "Intracerebral haemorrhage in hemisphere, subcortical"),
    "I61.1": ("ICD10", "Intracerebral haemorrhage in hemisphere, cortical"),
    "I61.9": ("ICD10", "Intracerebral haemorrhage, unspecified"),
    "I63.0": ("ICD10", "Cerebral infarction due to thrombosis of precerebral arteries"),
    "I63.3": ("ICD10", "Cerebral infarction due to thrombosis of cerebral arteries"),
    "I63.4": ("ICD10", "Cerebral infarction due to embolism of cerebral arteries"),
    "I63.5": ("ICD10", "Cerebral infarction due to unspecified occlusion of cerebral arteries"),
    "I63.9": ("ICD10", "Cerebral infarction, unspecified"),
    "230690007": ("SNOMED", "Cerebrovascular accident"),
    # Infective endocarditis
    "I33.0": ("ICD10", "Acute and subacute infective endocarditis"),
    "I38": ("ICD10", "Endocarditis, valve unspecified"),
    "I39.8": ("ICD10", "Endocarditis, valve unspecified, in diseases classified elsewhere"),
    "B95.6": ("ICD10", "Staphylococcus aureus as the cause of diseases classified elsewhere"),
    "Z95.2": ("ICD10", "Presence of prosthetic heart valve"),
    "F11.2": ("ICD10", "Mental and behavioural disorders due to use of opioids: dependence"),
    "386661006": ("SNOMED", "Fever"),
    # Hepatitis C
    "B18.2": ("ICD10", "Chronic viral hepatitis C"),
    "K74.6": ("ICD10", "Other and unspecified cirrhosis of liver"),
    # Near misses a cohort definition must leave out
    "G45.9": ("ICD10", "Transient cerebral ischaemic attack, unspecified"),
    "I35.0": ("ICD10", "Aortic (valve) stenosis"),
    "B18.1": ("ICD10", "Chronic viral hepatitis B without delta-agent"),
    # Background primary diagnoses
    "J18.9": ("ICD10", "Pneumonia, unspecified"),
    "N39.0": ("ICD10", "Urinary tract infection, site not specified"),
    "I50.9": ("ICD10", "Heart failure, unspecified"),
    "J44.1": ("ICD10", "Chronic obstructive pulmonary disease with acute exacerbation"),
    "R07.4": ("ICD10", "Chest pain, unspecified"),
    "A41.9": ("ICD10", "Sepsis, unspecified"),
    "N17.9": ("ICD10", "Acute renal failure, unspecified"),
    "R55": ("ICD10", "Syncope and collapse"),
    "K80.2": ("ICD10", "Calculus of gallbladder without cholecystitis"),
    "K35.8": ("ICD10", "Acute appendicitis, other and unspecified"),
    "K40.9": ("ICD10", "Unilateral or unspecified inguinal hernia"),
    "C18.2": ("ICD10", "Malignant neoplasm of ascending colon"),
    "S72.0": ("ICD10", "Fracture of neck of femur"),
    "M16.1": ("ICD10", "Other primary coxarthrosis"),
    "M17.1": ("ICD10", "Other primary gonarthrosis"),
    "I21.4": ("ICD10", "Acute subendocardial myocardial infarction"),
    "K57.3": ("ICD10", "Diverticular disease of large intestine without perforation or abscess"),
    "K21.9": ("ICD10", "Gastro-oesophageal reflux disease without oesophagitis"),
    "H25.9": ("ICD10", "Senile cataract, unspecified"),
    # Comorbidities (secondary positions)
    "I10": ("ICD10", "Essential (primary) hypertension"),
    "E11.9": ("ICD10", "Type 2 diabetes mellitus without complications"),
    "I48.9": ("ICD10", "Atrial fibrillation and atrial flutter, unspecified"),
    "J44.9": ("ICD10", "Chronic obstructive pulmonary disease, unspecified"),
    "N18.3": ("ICD10", "Chronic kidney disease, stage 3"),
    "F03": ("ICD10", "Unspecified dementia"),
    "I25.9": ("ICD10", "Chronic ischaemic heart disease, unspecified"),
    "C34.9": ("ICD10", "Malignant neoplasm of bronchus or lung, unspecified"),
    "C80.9": ("ICD10", "Malignant neoplasm, primary site unspecified"),
    # Emergency department presentations (SNOMED CT, as the Emergency Care Data Set records)
    "29857009": ("SNOMED", "Chest pain"),
    "267036007": ("SNOMED", "Dyspnoea"),
    "21522001": ("SNOMED", "Abdominal pain"),
    "125605004": ("SNOMED", "Fracture of bone"),
    "1912002": ("SNOMED", "Fall"),
}
DIAGNOSIS_CODES: tuple[str, ...] = tuple(DIAGNOSES)
DIAGNOSIS = {code: i for i, code in enumerate(DIAGNOSIS_CODES)}
DIAGNOSIS_SYSTEM = tuple(DIAGNOSES[c][0] for c in DIAGNOSIS_CODES)
# The same codes as a site that leaves out the dot writes them.
DIAGNOSIS_CODES_UNDOTTED: tuple[str, ...] = tuple(c.replace(".", "") for c in DIAGNOSIS_CODES)
HAS_DOT = tuple("." in c for c in DIAGNOSIS_CODES)

# Observation code -> (unit of value_num or None, description)
OBSERVATIONS: dict[str, tuple[str | None, str]] = {
    "NIHSS": ("score", "National Institutes of Health Stroke Scale at arrival (0-42)"),
    "MRS_PRE": ("score", "Pre-stroke modified Rankin Scale (0-5)"),
    "AF": (None, "Atrial fibrillation known or found on admission (yes/no)"),
    "DIABETES": (None, "Diabetes mellitus (yes/no)"),
    "ORGANISM": (None, "Causative organism of endocarditis from blood cultures"),
    "PROSTHETIC_VALVE": (None, "Prosthetic heart valve present (yes/no)"),
    "EUROSCORE_II": ("%", "EuroSCORE II predicted operative mortality"),
    "CREATININE": ("umol/L", "Serum creatinine"),
    "NEWS2": ("score", "National Early Warning Score 2 at arrival"),
    "AST": ("U/L", "Aspartate aminotransferase"),
    "ALT": ("U/L", "Alanine aminotransferase"),
    "PLATELETS": ("10^9/L", "Platelet count"),
    "ALBUMIN": ("g/L", "Serum albumin"),
    "BILIRUBIN": ("umol/L", "Serum bilirubin"),
    "INR": ("ratio", "International normalised ratio"),
    "LIVER_STIFFNESS": ("kPa", "Liver stiffness by transient elastography"),
    "HCV_RNA": ("IU/mL", "Hepatitis C virus RNA; value_text detected / not_detected"),
    "INJECTING_DRUG_USE": (None, "Injecting drug use in the last six months (yes/no)"),
}
OBSERVATION_CODES: tuple[str, ...] = tuple(OBSERVATIONS)
OBSERVATION = {code: i for i, code in enumerate(OBSERVATION_CODES)}
OBSERVATION_UNIT = tuple(OBSERVATIONS[c][0] for c in OBSERVATION_CODES)

ORGANISMS: tuple[str, ...] = (
    "Staphylococcus aureus",
    "viridans streptococci",
    "Enterococcus faecalis",
    "coagulase-negative staphylococci",
    "Streptococcus gallolyticus",
    "culture negative",
)
OBSERVATION_TEXTS: tuple[str, ...] = ("yes", "no", "detected", "not_detected") + ORGANISMS
OBSERVATION_TEXT = {text: i for i, text in enumerate(OBSERVATION_TEXTS)}

PROM_INSTRUMENTS: tuple[str, ...] = ("EQ-5D-5L", "mRS", "IE-WORRY")
PROM_INSTRUMENT = {name: i for i, name in enumerate(PROM_INSTRUMENTS)}
PROM_MODE = {name: i for i, name in enumerate(feeds.PROM_MODES)}
