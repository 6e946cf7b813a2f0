"""The review workflow's state: review items, answers, claims and agreement between analysts."""
