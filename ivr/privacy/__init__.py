"""Personal data protection: masking for logs and pages, encryption and keyed hashes at rest."""
