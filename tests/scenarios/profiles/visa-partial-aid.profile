# Visa-like card whose ADF Name extends the reader's AID (A0000000031010 01):
# a partial match.
name: visa-partial-aid
description: Visa-like card with ADF Name A000000003101001
form_factor: plastic
app:
  scheme: visa
  aid: A000000003101001
  pan: "4761739001010143"
  psn: "01"
  expiry: 2029-12
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
