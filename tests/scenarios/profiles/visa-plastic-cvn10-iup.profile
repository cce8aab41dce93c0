# Visa-like plastic card with the older CVN 10 (ICC master key as the AC key),
# no offline data authentication, online only.
name: visa-plastic-cvn10-iup
description: "Visa-like qVSDC plastic card, CVN 10, no ODA, online only, issuer update processing"
form_factor: plastic
app:
  scheme: visa
  pan: "4761739001010036"
  psn: "00"
  expiry: 2028-06
  name: TAPSIM/VISA CVN10
  cvn: visa10
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  cvms: [signature]
  ctq: "0040"                       # issuer update processing supported
