"""The web console: the screens consumers, discom operators, the P2P platform and the
regulator use, served by the sandbox as its own participant.

It holds no data of its own beyond the consumers' wallets it keeps for the sandbox's
personas: every page reads the running participants' own HTTP APIs (the consent
manager, the discoms' issuers and back offices, the registry and directory, the
protocol message logs, the regulator's policy packs), renders server-side with
Jinja2, works without JavaScript where a form does the job, and answers the same data
as JSON (``Accept: application/json`` or ``?format=json``) so nothing is screen-only.
"""
