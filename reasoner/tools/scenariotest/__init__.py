"""Scenario tests as data: scenario files with ``expect:`` blocks, run and reported (``earlog test``)."""
