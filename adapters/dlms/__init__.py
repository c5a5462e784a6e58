"""DLMS/COSEM: A-XDR codec, IS 15959 profile-generic objects and a meter simulator."""
