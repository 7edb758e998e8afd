"""The production server of the recommender: ``precision-onco serve``."""

from precision_onco.serve.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
