// Package kernel holds what the contactless Entry Point and its kernels share:
// the Reader a card is reached through, the terminal configuration, the
// transaction, and the Outcome a kernel hands back (EMV Contactless Book A).
//
// The Entry Point (EMV Contactless Book B) lives in package kernel/entry, the
// kernel modelled on Book C-2 (Mastercard-like M/Chip) in kernel/c2 and the
// one modelled on Book C-3 (Visa-like qVSDC) in kernel/c3. They meet the card
// only through Reader.Transmit: the kernel knows nothing of PC/SC, of virtual
// cards or of how a tap reaches it.
//
// # Determinism
//
// Nothing here reads the wall clock or a random source unless the
// configuration leaves them out: Config.Clock gives the transaction date and
// time and Config.UnpredictableNumber the Unpredictable Number (tag 9F37), so
// a fixed clock and a fixed number reproduce a tap byte for byte. No package
// keeps global state and none starts goroutines.
//
// # Configuration file
//
// LoadConfig reads the terminal configuration from YAML. Amounts are integer
// minor units of the transaction currency; hex fields are written as strings
// of hex digits. An absent limit is absent in the EMV sense (Book B treats an
// absent Reader Contactless Transaction Limit differently from a zero one):
//
//	country: "0158"            # Terminal Country Code (9F1A), ISO 3166 numeric
//	currency: "0901"           # Transaction Currency Code (5F2A), ISO 4217 numeric
//	currency_exponent: 2       # Transaction Currency Exponent (5F36)
//	terminal_type: "22"        # 9F35
//	capabilities: "0068C8"     # Terminal Capabilities (9F33)
//	additional_capabilities: "F000F0A001"   # 9F40
//	merchant_category_code: "5411"          # 9F15
//	merchant_name_location: "TAPSIM STORE TAIPEI"  # 9F4E
//	ifd_serial: "TAPSIM01"     # 9F1E
//	terminal_id: "T0000001"    # 9F1C
//	merchant_id: "000000000000001"         # 9F16
//	transaction_category_code: "R"         # 9F53
//	contact_chip: false        # true only when a contact chip reader exists
//	removal_timeout: 0s        # Removal Timeout: wait so long for the card to leave after the outcome
//	det: {data: "9F1D0142", tags_to_write_after_gen_ac: "DF0201AA"}  # the POS's answer to a C-2 DEK
//	                                  # (delay: 200ms: how long the POS takes to answer)
//	accept_test_ca: true       # the test CA's keys stand for scheme RIDs
//	capk_file: capk.yaml       # CA public keys, relative to this file
//	combinations:
//	  - aid: "A0000000031010"
//	    kernel_id: 3
//	    label: "VISA-LIKE"
//	    ttq: "26004000"
//	    transaction_limit: 5000000      # Reader Contactless Transaction Limit
//	    floor_limit: 100000             # Reader Contactless Floor Limit
//	    cvm_required_limit: 300000      # Reader CVM Required Limit (NT$3,000)
//	    zero_amount_allowed: true
//	    status_check: false
//	  - aid: "A0000000041010"
//	    kernel_id: 2
//	    floor_limit: 100000             # DF8123
//	    cvm_required_limit: 300000      # DF8126
//	    transaction_limit_no_odcvm: 5000000   # DF8124
//	    transaction_limit_odcvm: 10000000     # DF8125
//	    tac_default: "F45084800C"
//	    tac_denial: "0000000000"
//	    tac_online: "F45084800C"
//	    kernel_configuration: "B0"      # DF811B
//	    cvm_capability_cvm_required: "60"     # DF8118
//	    cvm_capability_no_cvm_required: "08"  # DF8119
//	    security_capability: "08"       # DF811F
//	    message_hold_time: 1300ms       # DF812D
//	    relay_resistance: {min_grace: 2ms, max_grace: 5ms, expected_c_apdu: 1800us,
//	      expected_r_apdu: 2400us, accuracy_threshold: 30ms, mismatch_threshold: 50}  # DF8132-DF8137
//	    mag_stripe_cvm_capability_cvm_required: "20"     # DF811E (with kernel_configuration 30)
//	    mag_stripe_cvm_capability_no_cvm_required: "00"  # DF812C
//	    max_torn_records: 1             # DF811D
//	    max_torn_lifetime: 5m           # DF811C
//	    balance_read_before: true       # GET DATA 9F50 before GENERATE AC (DF8104)
//	    balance_read_after: true        # and after it (DF8105)
//	    tags_to_read: ["9F50"]          # DF8112
//	    tags_to_write_before_gen_ac: "DF01020001"  # FF8102: PUT DATA before GENERATE AC (DF810F)
//	    tags_to_write_after_gen_ac: "DF0201AA"     # FF8103: PUT DATA after it (DF810E)
//	    ds_requested_operator_id: "7A45123EE59C7F40"  # 9F5C: read the card's data storage
//	    ds_ods_info: "80"               # DF62: write it with GENERATE AC (permanent slot)
//	    ds_ods_term: "504F494E54533D313335"  # DF63: the data the card stores
//	    ds_ac_type: "40"                # DF8108: the write goes with a TC
//	    ds_ods_info_for_reader: "C2"    # DF810A: usable for TC and ARQC, stop if the write failed
//	    ds_input_term: "1122334455667788"  # DF8109: its OWHF2 is the DS Digest H (DF61)
//	    ds_input_card: "0000000000000000"  # DF60
//	    proceed_to_first_write_flag: "00"  # DF8110: wait for the terminal's DET before writing
//	    time_out_value: 500ms           # DF8127: how long the kernel waits for a DET
//	    phone_message_table:            # DF8131
//	      - {mask: "000800", value: "000800", message: see_phone, status: not_ready}
//
// # CA public key file
//
// LoadCAPK reads certification authority public keys (EMV Book 2 section
// 11.2.2) from YAML: a list under "keys" (a bare list is accepted too), each
// with the RID and index in hex, the modulus and exponent in hex, and
// optionally an expiry date and the SHA-1 checksum, which is then verified:
//
//	keys:
//	  - rid: "F000000001"
//	    index: "01"
//	    modulus: "C1D2..."
//	    exponent: "03"
//	    expiry: 2035-12-31      # optional
//	    checksum: "8A3F..."     # optional: SHA-1 over RID, index, modulus, exponent
//
// Keys are public: the file holds no secret. testdata/capk.yaml and
// testdata/config.yaml in this package are samples of both formats.
package kernel
