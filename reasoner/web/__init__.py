"""The trainer's explorer: a local web page to edit a scenario and watch decisions change.

Owns: ``explorer`` (plain data in, plain data out: states, proofs, highlights),
``formdata`` (the form's fields to scenario YAML and back), ``server`` (the HTTP
layer, the only module here that touches sockets) and ``static/`` (the page).

May import: every layer below (``lang``, ``engine``, ``law``, ``proof``, ``render``, ``tools``).
"""
