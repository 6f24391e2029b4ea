"""Checks over Terraform evidence: checkov results mapped to ASL controls, and drift records."""
