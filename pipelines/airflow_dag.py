"""Airflow entry point: a file in the DAGs folder holding ``from pipelines.airflow_dag import chatsync``.

The DAG is built by ``pipelines.orchestrators.airflow``; see its docstring and the README.
"""

from __future__ import annotations

from .orchestrators.airflow import build_dag

chatsync = build_dag()
