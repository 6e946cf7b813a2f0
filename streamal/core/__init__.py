"""The pure core: the learner and what it is made of.

Model, query strategies, budget, drift monitors and the store of
queried-but-unlabelled events. Nothing here touches Kafka, HTTP, metrics,
clocks or threads; the service, the offline evaluation and the tests drive
the same objects.
"""
