// Package trace prints the APDU exchanges of a tap for people: each command
// with its name and hex, each response as its status word meaning and its
// TLV tree with tag names, and the time the reader took.
//
// Response data is never printed as raw hex: it holds the PAN and track 2
// equivalent data, which the TLV printer masks (first 6 and last 4 digits).
// Command data is printed in hex; the commands a kernel sends carry
// terminal data only (amounts, dates, the unpredictable number).
package trace

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
)

// CommandName names a command by its class and instruction bytes
// ("SELECT", "GET PROCESSING OPTIONS"); unknown ones give "INS xx".
func CommandName(capdu []byte) string {
	if len(capdu) < 4 {
		return "malformed command"
	}
	switch capdu[1] {
	case 0xA4:
		if len(capdu) > 5 && strings.HasPrefix(string(capdu[5:]), "2PAY.SYS.DDF01") {
			return "SELECT PPSE"
		}
		return "SELECT"
	case 0xA8:
		return "GET PROCESSING OPTIONS"
	case 0xB2:
		return fmt.Sprintf("READ RECORD %d SFI %d", capdu[2], capdu[3]>>3)
	case 0xAE:
		return "GENERATE AC " + cryptogramType(capdu[2])
	case 0xCA:
		return fmt.Sprintf("GET DATA %02X%02X", capdu[2], capdu[3])
	case 0xC0:
		return "GET RESPONSE"
	case 0x2A:
		return "COMPUTE CRYPTOGRAPHIC CHECKSUM"
	case 0xEA:
		return "EXCHANGE RELAY RESISTANCE DATA"
	case 0xD0:
		return "RECOVER AC"
	case 0x1E:
		return "APPLICATION BLOCK"
	case 0x18:
		return "APPLICATION UNBLOCK"
	case 0xDA:
		return "PUT DATA"
	case 0x88:
		return "INTERNAL AUTHENTICATE"
	case 0x82:
		return "EXTERNAL AUTHENTICATE"
	case 0x20:
		return "VERIFY"
	}
	return fmt.Sprintf("INS %02X", capdu[1])
}

func cryptogramType(p1 byte) string {
	var s string
	switch p1 & 0xC0 {
	case 0x00:
		s = "AAC"
	case 0x40:
		s = "TC"
	case 0x80:
		s = "ARQC"
	default:
		s = "RFU"
	}
	if p1&0x10 != 0 {
		s += " + CDA"
	}
	return s
}

// Printer writes exchanges; Kernel selects the tag meanings. A Printer
// whose Kernel is KernelAny follows the card: once an application is
// selected it names tags as the kernel of that application does (the Kernel
// Identifier the PPSE gave the application, else the kernel of its
// registered application provider, as Book B defaults it), says so on a line
// of its own, and goes back to general names at the next SELECT PPSE.
type Printer struct {
	W      io.Writer
	Kernel tlv.Kernel
	// Timing prints how long each exchange took; off for golden files.
	Timing bool
	n      int
	// followed is the kernel of the selected application; ppse maps the
	// AIDs the PPSE listed to their kernel identifiers.
	followed tlv.Kernel
	ppse     map[string]byte
}

func (p *Printer) kernel() tlv.Kernel {
	if p.Kernel != tlv.KernelAny {
		return p.Kernel
	}
	return p.followed
}

// follow notes the PPSE's directory and the selected application's kernel;
// it returns the line announcing a newly selected kernel, or "".
func (p *Printer) follow(capdu []byte, r apdu.Response) string {
	if p.Kernel != tlv.KernelAny || len(capdu) < 5 || capdu[1] != 0xA4 {
		return ""
	}
	if CommandName(capdu) == "SELECT PPSE" {
		p.followed, p.ppse = tlv.KernelAny, map[string]byte{}
		l, _ := tlv.Decode(r.Data)
		for _, e := range l.FindAll(0x61) {
			aid, ok := tlv.List(e.Children).Find(0x4F)
			if !ok {
				continue
			}
			if id, ok := tlv.List(e.Children).Find(0x9F2A); ok && len(id.Value) > 0 {
				p.ppse[string(aid.Value)] = id.Value[0]
			}
		}
		return ""
	}
	if r.SW != apdu.SW9000 {
		return ""
	}
	lc := int(capdu[4])
	if len(capdu) < 5+lc {
		return ""
	}
	aid := capdu[5 : 5+lc]
	id, ok := p.ppse[string(aid)]
	if !ok {
		id = defaultKernelID(aid)
	}
	switch id {
	case 2:
		p.followed = tlv.Kernel2
	case 3:
		p.followed = tlv.Kernel3
	default:
		p.followed = tlv.KernelAny
		if id == 0 {
			return ""
		}
		return fmt.Sprintf("   kernel ID %d (tag names of EMV Book 3 and Entry Point)\n", id)
	}
	return fmt.Sprintf("   kernel %s (kernel ID %d)\n", p.followed, id)
}

// defaultKernelID is the kernel Book B gives an application whose PPSE
// entry names none, by its registered application provider; 0 if unknown.
func defaultKernelID(aid []byte) byte {
	if len(aid) < 5 {
		return 0
	}
	switch strings.ToUpper(hex.EncodeToString(aid[:5])) {
	case "A000000004":
		return 2
	case "A000000003":
		return 3
	}
	return 0
}

// swText describes a status word; a 6986 answering a command that asks
// the card to transact (GET PROCESSING OPTIONS, GENERATE AC, COMPUTE
// CRYPTOGRAPHIC CHECKSUM) is how a phone tells the reader to have the
// cardholder look at it.
func swText(capdu []byte, sw uint16) string {
	if sw == apdu.SW6986 && len(capdu) >= 2 {
		switch capdu[1] {
		case 0xA8, 0xAE, 0x2A:
			return "6986: see phone (conditions of use not satisfied: see phone for instructions)"
		}
	}
	return apdu.Describe(sw)
}

// Exchange prints one exchange; it suits kernel.Config.Trace. Write errors
// are dropped: a trace must never stop a transaction.
func (p *Printer) Exchange(ex kernel.Exchange) {
	p.n++
	var b strings.Builder
	var announce string
	fmt.Fprintf(&b, "%d. > %s  %s\n", p.n, CommandName(ex.C), strings.ToUpper(hex.EncodeToString(ex.C)))
	switch {
	case ex.Err != nil:
		fmt.Fprintf(&b, "   < error: %v", ex.Err)
	default:
		r, err := apdu.ParseResponse(ex.R)
		if err != nil {
			fmt.Fprintf(&b, "   < %v", err)
			break
		}
		fmt.Fprintf(&b, "   < %s", swText(ex.C, r.SW))
		if len(r.Data) > 0 {
			fmt.Fprintf(&b, ", %d bytes", len(r.Data))
		}
		announce = p.follow(ex.C, r)
	}
	if p.Timing {
		fmt.Fprintf(&b, " (%s)", Duration(ex.Dur))
	}
	b.WriteString("\n")
	b.WriteString(announce)
	if ex.Err == nil && len(ex.R) > 2 {
		var tb strings.Builder
		_ = tlv.Printer{Kernel: p.kernel(), Explain: true}.Fprint(&tb, ex.R[:len(ex.R)-2])
		tree := tb.String()
		for _, line := range strings.Split(strings.TrimRight(tree, "\n"), "\n") {
			b.WriteString("     " + line + "\n")
		}
	}
	_, _ = io.WriteString(p.W, b.String())
}

// Duration shows how long an exchange took: nanoseconds below a microsecond
// (an in-process card answers that fast), tenths of a microsecond below a
// millisecond, hundredths of a millisecond above.
func Duration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return d.Round(100 * time.Nanosecond).String()
	default:
		return d.Round(10 * time.Microsecond).String()
	}
}
