"""The wire format: the messages on the topics, parsed on the way in and bounded on the way out."""
