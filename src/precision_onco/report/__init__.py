"""Reports oncologists read: per-patient recommendation reports (English, French) and the
cohort model card, as self-contained HTML; PDF through headless Chromium."""
