"""What a difference between two answers means, as rules the diff applies: noise rules (a location
whose differences are expected, and why: ``noise``, with rules files) and array rules (arrays that
are sets, and what pairs their items: ``arrays``). The machinery only: this API's rules are
``replay.talon``."""
