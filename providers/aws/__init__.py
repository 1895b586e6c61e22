"""AWS SageMaker provider."""
