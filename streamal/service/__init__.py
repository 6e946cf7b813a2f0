"""The Kafka service: the loop that drives the learner from the topics, its commit policy and its state."""
