"""Speaking other tools' formats: models and examples from MLflow, brought into the registry."""
