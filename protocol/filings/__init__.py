"""The regulator's filings inbox: a licensee's signed ArrFiling and the energy account
behind it (AT&C losses per feeder), decided by the state's policy pack, acknowledged
or sent back for corrections, and superseded by its correction with every version kept.
"""
