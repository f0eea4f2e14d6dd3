"""chatsync under an orchestrator: shards, Dagster (``dagster/``) and Airflow."""
