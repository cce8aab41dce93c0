# SE phone with a Visa-like card applet in the issuer's security domain of a
# virtual secure element. Wallet passcode 5791 (R-G3a, R-G3b) and biometric;
# a verification serves taps for 5 minutes. CDCVM signalled in the CTQ.
name: visa-se-phone-iup
description: "SE phone, Visa-like applet with issuer update processing, CVN 18, fDDA, CDCVM"
form_factor: se-phone
requirements: [R-G3a, R-G3b, R-G3c, R-G5d, R-S2b, R-S2c]
app:
  scheme: visa
  pan: "4761739001010044"
  psn: "01"
  expiry: 2029-12
  name: TAPSIM/VISA SE
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  ctq: "2040"                       # issuer update processing supported
  cvms: [online_pin, signature]
  form_factor_indicator: "23880000" # mobile phone; passcode capable, two-way messaging
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-c}
phone:
  passcode: "5791"
  biometric: true
  validity: 5m
  sd_aid: A000000151535001
  sd_key: 404142434445464748494A4B4C4D4E4F
  sd_owner: tapsim test bank
state:
  card_on: true
  unlocked: false
