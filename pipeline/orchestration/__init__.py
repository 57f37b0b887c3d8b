"""Airflow-free pieces of orchestration: trigger params, their validation and each stage's argv."""
