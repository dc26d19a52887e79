"""d365portal: a customer support portal in front of Microsoft Dynamics 365 Customer Service."""

from d365portal.app import create_app

__all__ = ["create_app"]
