"""Replay spread over many processes and machines on Locust (issue 19, being built): the master
hands out stories (``dispatch``), workers replay them with the engine's own pipeline and send their
outcomes back in a safe wire form (``wire``)."""
