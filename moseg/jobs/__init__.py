"""The stage jobs, configs and wiring only: `moseg search` (`search`), retraining from scratch (`retrain`), the
staged pipeline (`pipeline`) and `moseg demo`'s settings (`demo`)."""
