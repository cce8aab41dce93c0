// Package rules lets a tester decide what a host answers: an ordered list
// of host response rules, read from a YAML file, that the acquirer and the
// issuer host consult for every authorisation and financial request (0100,
// 0200) before their normal processing. The first rule that matches fires;
// a request no rule matches is processed as usual.
//
// A rule matches on the message type, the processing code, the amount
// (exact, a range, or its ending digits), the PAN or token (a prefix or a
// from/to range), the card profile name where the host knows it, the
// terminal and merchant IDs and the POS entry mode. All the conditions of a
// rule must hold; a rule without conditions matches every request.
//
// It acts by answering a given DE39 (with its machine-readable decline
// reason), referring (01), approving partially (10, a smaller DE4 and the
// balance in DE54), answering a balance (DE54), delaying the answer,
// answering only after the terminal's timeout, never answering, closing the
// connection, or corrupting the answer's MAC; at the acquirer, stand_in
// approves in the issuer's stead, up to a limit, when the issuer is down or
// does not answer in time. once and count limit how
// often a rule fires. Every firing is logged as "rule NAME fired: ...",
// the PAN masked.
//
// The file format:
//
//	terminal_timeout_ms: 15000   # optional; after_timeout waits longer than this
//	rules:
//	  - name: insufficient-funds
//	    match:
//	      mti: ["0100", "0200"]
//	      amount: {ends: "51"}
//	    respond: "51"                 # reason defaults to the code's own
//	  - name: slow-issuer
//	    match: {pan: {prefix: "476173"}}
//	    delay_ms: 2000                # then the normal answer
//	    count: 3
//	  - name: half
//	    match: {amount: {min: 100000, max: 200000}}
//	    partial: {percent: 50}
//	    balance: 0
//
// A Set holds the rules in force; Load reads a file into a new Set and
// Set.Watch reloads it when the file changes, keeping the last good rules
// when the new file is bad.
package rules
