"""Both DAGs' logic above pipeline/, train/ and evaluation/: trigger forms, plans, tasks and the shared Asset."""
