"""Outcomes that matter to patients: derived from the feeds, scored from PROMs, or
clinician-reported; case-mix adjustment; value per episode and per cohort."""
