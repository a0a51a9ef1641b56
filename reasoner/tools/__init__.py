"""User tasks built from the stages below: memos, what-if searches, bulk screening.

Owns: ``memo/`` (a decision as a research memo, and its Markdown, HTML and DOCX
formats), ``whatif/`` (the smallest fact changes that flip an outcome, and their
text), ``screen/`` (deciding an order book in chunks, and its files).
A tool's own document formats live with the tool; ``render`` keeps the formats of
proofs and graphs that every tool shares.

May import: ``lang``, ``engine``, ``law``, ``proof``, ``render``.
"""
