# Visa-like card answering GET PROCESSING OPTIONS with '6984': it refuses the
# contactless interface and asks for another one.
name: visa-gpo-6984
description: Visa-like card answering GET PROCESSING OPTIONS with 6984
form_factor: plastic
app:
  scheme: visa
  pan: "4761739001010119"
  psn: "01"
  expiry: 2029-12
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  faults: {"A8": "6984"}
