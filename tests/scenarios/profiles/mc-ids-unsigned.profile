# Mastercard-like contactless plastic card: M/Chip (kernel C-2), CVN 16, CDA, C-2 Integrated Data Storage.
# Test keys only: the issuer master key below is public test data.
name: mc-ids-unsigned
description: "Mastercard-like M/Chip plastic card, CDA, Integrated Data Storage, whose CDA signatures leave the DS summaries out (a faulty card)"
form_factor: plastic
app:
  scheme: mastercard
  aid: A0000000041010
  label: MASTERCARD
  priority: 1
  pan: "5413330089010012"
  psn: "01"
  expiry: 2029-12
  effective: 2024-01
  name: TAPSIM/MC PLASTIC
  cvn: mc16
  imk: 1F2E3D4C5B6A79880102030405060708
  dki: 1
  cvm_list: "00000000000000004203 1E03 1F03" # online PIN, else signature, else no CVM
  iac_default: F45084800C
  iac_denial: "0000000000"
  iac_online: F45084800C
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-b}
  data_storage: {ods_card: "504F494E54533D313230", summary: "0102030405060708", unsigned_summaries: true}
state:
  atc: 0
