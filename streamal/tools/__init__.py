"""Tools around the service: the demo, replay, the oracle and the embedded broker."""
