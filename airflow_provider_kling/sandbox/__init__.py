"""Local Kling sandbox server: ``python -m airflow_provider_kling.sandbox`` or ``kling-sandbox``."""

from airflow_provider_kling.sandbox.server import Fault, KlingSandbox

__all__ = ["Fault", "KlingSandbox"]
