"""The conformance kit: any outside IES implementation tests itself against the stack.

``conform(RunOptions(...))`` plays the counterparty of one participant over HTTP and
judges every checklist item that applies to its role (``kit.items_for``); ``reports``
writes terminal, JUnit XML, JSON, Markdown and HTML; ``vectors`` exports signed test
vectors with fixed keys and expected verdicts. See docs/conformance.md.
"""
