"""The Datalog language: spans, errors, grammar and syntax, the frozen IR, static checks, labels.

Owns: ``span`` (source positions), ``errors`` (the ``EarlogError`` family and
compiler-style diagnostics), ``syntax`` (lark grammar ``datalog.lark`` to IR),
``ir`` (frozen rules, atoms, facts), ``checks`` (arity, safety, strata via
networkx SCCs), ``labels`` (rule labels filled with values, en/zh) and
``program`` (loading rule files into one checked program, checking queries).

May import: nothing of earlog's but ``reasoner.version``. Everything else builds on it.
"""
