"""Recommendations: eligibility, scoring and ranking of candidate regimens."""
