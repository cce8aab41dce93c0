# Visa-like application whose PDOL does not ask for the TTQ (9F66): a
# kernel 1 card, which this reader does not support.
name: visa-pdol-without-ttq
description: Visa AID with a PDOL lacking 9F66
form_factor: plastic
app:
  scheme: visa
  pan: "4761739001010168"
  psn: "01"
  expiry: 2029-12
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  pdol: "9F02069F1A025F2A029A039C019F3704"
