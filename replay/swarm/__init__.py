"""Replay spread over many processes and machines on Locust: the master hands out stories
(``dispatch``), workers replay them with the engine's own pipeline and send their outcomes back as
checked plain data (``wire``); ``locustfile`` is what Locust runs on each (``replay swarm`` starts it)."""
