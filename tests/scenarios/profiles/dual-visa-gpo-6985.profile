# Two applications: a Visa-like one (priority 1) that answers GET PROCESSING
# OPTIONS with '6985' (conditions of use not satisfied: try the next
# application), and a Mastercard-like one (priority 2).
name: dual-visa-gpo-6985
description: Visa-like application answering GPO 6985 first, Mastercard-like application second
form_factor: plastic
apps:
  - scheme: visa
    priority: 1
    pan: "4761739001010101"
    psn: "01"
    expiry: 2029-12
    cvn: visa18
    imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
    faults: {"A8": "6985"}
  - scheme: mastercard
    priority: 2
    pan: "5413330089010095"
    psn: "01"
    expiry: 2029-12
    cvn: mc16
    imk: 1F2E3D4C5B6A79880102030405060708
    oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-b}
