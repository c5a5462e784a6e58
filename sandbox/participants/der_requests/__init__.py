"""The installer's DER application requests: nothing about a consumer reaches the
discom until the consumer approves (issue 16).

The installer prepares an application for a customer's rooftop system (the DER, the
scheme, the kit and the bidirectional meter, its own licence and the laboratory's
certificates) and it is kept here AWAITING_CONSUMER_APPROVAL, addressed to the
consumer's wallet, with a notice saying what the consumer's approval would share
(their ElectricityCredential, the "passport": name, consumer number, connection and
sanctioned load), with whom (the discom) and why (the connection application). The
installer never holds the passport: only the consumer's wallet can add it, in a
presentation it signs for the discom's challenge.

The consumer answers from their own session (the console's DER page; the use case's
wallet): APPROVED carries that presentation, and the desk checks it is the consumer's
(the holder is the wallet the request was addressed to, the proof verifies with its
did:key, the audience is the discom, the ElectricityCredential is the holder's) before
its BAP sends the application to the discom's BPP (``confirm``); DECLINED is a
presentation of nothing, signed by the same wallet for this request. Either is final,
and every step (prepared, approved or declined, sent) is in the request's audit trail
with who did it. The discom's desk in turn accepts no application whose presentation
the consumer did not sign (holder proof, holder binding), so the installer cannot
bypass this desk with an application of its own making.
"""
