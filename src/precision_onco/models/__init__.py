"""Endpoint models: labels and splits, fitting and calibration, metrics, MLflow tracking."""
