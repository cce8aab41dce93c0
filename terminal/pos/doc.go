// Package pos is the point-of-sale side of the payment network: a
// contactless terminal that runs the EMV kernel on a card, collects an
// online PIN on its PIN pad, sends the authorisation to the acquirer over
// ISO 8583 (isospec), applies the answer, reverses what got no answer, and
// prints the receipt.
//
// # A sale
//
//  1. The Entry Point and kernels (kernel/entry) run on the card through a
//     kernel.Reader. When the outcome asks for the card again (Try Again,
//     or "See Phone for Instructions" with a restart at Start B) a
//     Presenter brings it back: the cardholder unlocks the phone and taps
//     again, and the Entry Point restarts at Start B.
//  2. An Online Request outcome with the online PIN CVM asks the PIN pad
//     (terminal/pinpad) for the PIN, enciphered at once as an ISO 9564
//     format 0 block under the TDES DUKPT key of the transaction.
//  3. The 0100 is built from the outcome's data record: field 2 from tag
//     5A (or track 2), 14 from 5F24, 22 = 071 (contactless chip, PIN
//     capable), 23 from 5F34, 35 from tag 57, 55 the data record as BER-TLV
//     (the card data that has its own field left out), 52 and 53 the PIN
//     block and KSN, 41/42/43 from the Config, 7/11/12/13/37 from the
//     injected clock and STAN source, 48 the consumer-device CVM flag and
//     token requestor ID. Field 64 is the ISO 9797-1 MAC algorithm 3
//     (padding method 1, ANSI X9.19) under the terminal MAC key (TAK).
//  4. The answer is checked: the right message type, well formed, and its
//     MAC verified under the TAK. An approval without a MAC is not
//     trusted. Field 39 decides; field 38 is the approval code; the private
//     field 48 carries the machine-readable decline reason; field 55's tag
//     91 (ARPC) and scripts (71, 72) are recorded for the card, with
//     whether the kernel asked for them; when it did and a Presenter brings
//     the card back, the Entry Point restarts the kernel with them (Issuer
//     Update Processing) and the card's answers are recorded too.
//  5. No valid answer within Config.ResponseTimeout: the terminal sends a
//     0400 reversal on its own (field 90 naming the original, field 39 68)
//     and shows "No answer from host: reversed". A reversal that gets no
//     answer either is kept and sent again before the next transaction.
//  6. The receipt (terminal/receipt) shows the masked PAN, the application,
//     the masked cryptogram and the cardholder verification line.
//
// A refund runs the kernel with transaction type 20 (the card answers with
// an AAC) and sends the 0100 with processing code 20. A void finds an
// approved transaction in the Journal by STAN or RRN and reverses it with a
// 0400.
//
// # Determinism
//
// The clock, the unpredictable number and the STAN source are injected
// (Options). Timings are measured with the wall clock and are the only
// varying part of a Result.
//
// # Sensitive data
//
// Results, events, records and receipts print with the PAN masked (first 6
// and last 4 digits), and never show track 2, the PIN or PIN block, keys or
// cryptograms: ISO messages are described through isospec, which masks them.
package pos
