package isospec

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OriginalData is DE90, original data elements (n42): what identifies the
// message a reversal or advice refers to.
type OriginalData struct {
	// MTI of the original message (0100, 0200).
	MTI MTI
	// STAN of the original message, 6 digits.
	STAN string
	// TransmissionDateTime of the original message, MMDDhhmmss.
	TransmissionDateTime string
	// AcquirerID is the original DE32, up to 11 digits.
	AcquirerID string
	// ForwardingID is the original DE33, up to 11 digits ("" if none).
	ForwardingID string
}

// Encode returns the 42 digits of DE90: MTI (4), STAN (6), transmission
// date and time (10), acquiring and forwarding institution IDs (11 each,
// right-justified, zero-filled).
func (o OriginalData) Encode() (string, error) {
	parts := []struct {
		v    string
		n    int
		name string
		pad  bool
	}{
		{string(o.MTI), 4, "MTI", false},
		{o.STAN, 6, "STAN", false},
		{o.TransmissionDateTime, 10, "transmission date and time", false},
		{o.AcquirerID, 11, "acquirer ID", true},
		{o.ForwardingID, 11, "forwarding ID", true},
	}
	var sb strings.Builder
	for _, p := range parts {
		if firstBad(p.v, FormatN) >= 0 || len(p.v) > p.n || (!p.pad && len(p.v) != p.n) {
			return "", fieldErr(FieldOriginalData, -1, ErrValue, p.name+": need "+strconv.Itoa(p.n)+" digits")
		}
		sb.WriteString(strings.Repeat("0", p.n-len(p.v)))
		sb.WriteString(p.v)
	}
	return sb.String(), nil
}

// ParseOriginalData splits DE90. The institution IDs keep their leading
// zeros removed ("00000012345" gives "12345"; all zeros give "").
func ParseOriginalData(s string) (OriginalData, error) {
	if len(s) != 42 || firstBad(s, FormatN) >= 0 {
		return OriginalData{}, fieldErr(FieldOriginalData, -1, ErrValue, "need 42 digits")
	}
	o := OriginalData{
		MTI:                  MTI(s[0:4]),
		STAN:                 s[4:10],
		TransmissionDateTime: s[10:20],
		AcquirerID:           strings.TrimLeft(s[20:31], "0"),
		ForwardingID:         strings.TrimLeft(s[31:42], "0"),
	}
	return o, nil
}

// CardAcceptorLocation is DE43, card acceptor name/location (ans40): name
// (25), city (13) and country code (2), each left-justified and
// space-filled.
type CardAcceptorLocation struct {
	Name    string
	City    string
	Country string
}

// Encode returns the 40 characters of DE43. Parts longer than their room
// are an error.
func (c CardAcceptorLocation) Encode() (string, error) {
	parts := []struct {
		v    string
		n    int
		name string
	}{{c.Name, 25, "name"}, {c.City, 13, "city"}, {c.Country, 2, "country"}}
	var sb strings.Builder
	for _, p := range parts {
		if len(p.v) > p.n || firstBad(p.v, FormatANS) >= 0 {
			return "", fieldErr(FieldCardAcceptor, -1, ErrValue, p.name+": at most "+strconv.Itoa(p.n)+" printable characters")
		}
		sb.WriteString(p.v)
		sb.WriteString(strings.Repeat(" ", p.n-len(p.v)))
	}
	return sb.String(), nil
}

// ParseCardAcceptorLocation splits DE43. Trailing spaces of each part are
// removed; a shorter string (DE43 after unpacking loses its trailing
// spaces) is read as if space-filled.
func ParseCardAcceptorLocation(s string) (CardAcceptorLocation, error) {
	if len(s) > 40 || firstBad(s, FormatANS) >= 0 {
		return CardAcceptorLocation{}, fieldErr(FieldCardAcceptor, -1, ErrValue, "at most 40 printable characters")
	}
	s += strings.Repeat(" ", 40-len(s))
	return CardAcceptorLocation{
		Name:    strings.TrimRight(s[0:25], " "),
		City:    strings.TrimRight(s[25:38], " "),
		Country: strings.TrimRight(s[38:40], " "),
	}, nil
}

// TransmissionDateTime formats DE7, MMDDhhmmss in UTC.
func TransmissionDateTime(t time.Time) string { return t.UTC().Format("0102150405") }

// LocalTime formats DE12, hhmmss in t's location.
func LocalTime(t time.Time) string { return t.Format("150405") }

// LocalDate formats DE13, MMDD in t's location.
func LocalDate(t time.Time) string { return t.Format("0102") }

// ParseTransmissionDateTime reads DE7 (MMDDhhmmss, UTC). The field has no
// year: the year chosen is the one that puts the result nearest to now
// (a message sent on 31 December and read on 1 January keeps its year).
func ParseTransmissionDateTime(s string, now time.Time) (time.Time, error) {
	if len(s) != 10 || firstBad(s, FormatN) >= 0 {
		return time.Time{}, fieldErr(FieldTransmissionDateTime, -1, ErrValue, "need MMDDhhmmss")
	}
	now = now.UTC()
	var best time.Time
	found := false
	for _, y := range []int{now.Year() - 1, now.Year(), now.Year() + 1} {
		t, err := time.Parse("20060102150405", fmt.Sprintf("%04d%s", y, s))
		if err != nil {
			continue
		}
		if !found || absDur(t.Sub(now)) < absDur(best.Sub(now)) {
			best, found = t, true
		}
	}
	if !found {
		return time.Time{}, fieldErr(FieldTransmissionDateTime, -1, ErrValue, "not a date and time")
	}
	return best, nil
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// validMMDD reports whether s is a month and day that exist in some year
// (29 February included), as time.Parse reads "MMDD".
func validMMDD(s string) bool {
	if len(s) != 4 || firstBad(s, FormatN) >= 0 {
		return false
	}
	m, d := twoDigits(s[0:2]), twoDigits(s[2:4])
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn[m]
}

// daysIn is the number of days of each month in a leap year.
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// validHHMMSS reports whether s is a time of day, as time.Parse reads
// "hhmmss".
func validHHMMSS(s string) bool {
	if len(s) != 6 || firstBad(s, FormatN) >= 0 {
		return false
	}
	return twoDigits(s[0:2]) <= 23 && twoDigits(s[2:4]) <= 59 && twoDigits(s[4:6]) <= 59
}

// twoDigits is the value of two ASCII digits.
func twoDigits(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// validYYMM reports whether s is an expiry date YYMM.
func validYYMM(s string) bool {
	if len(s) != 4 || firstBad(s, FormatN) >= 0 {
		return false
	}
	m, _ := strconv.Atoi(s[2:])
	return m >= 1 && m <= 12
}

// FormatSTAN formats a systems trace audit number, DE11: 6 digits, n
// modulo 1,000,000.
func FormatSTAN(n uint32) string { return fmt.Sprintf("%06d", n%1_000_000) }

// NewRRN builds a retrieval reference number (DE37, 12 characters) in the
// common YDDDhh + STAN form: last digit of the year, day of the year (3
// digits), hour, then the 6-digit STAN.
func NewRRN(t time.Time, stan string) (string, error) {
	if len(stan) != 6 || firstBad(stan, FormatN) >= 0 {
		return "", fieldErr(FieldSTAN, -1, ErrValue, "need 6 digits")
	}
	return fmt.Sprintf("%d%03d%02d%s", t.Year()%10, t.YearDay(), t.Hour(), stan), nil
}

// Track2FromEMV converts EMV tag 57 (Track 2 Equivalent Data, hex with 'D'
// as separator and 'F' padding) to DE35's ASCII form with '=' as the
// separator.
func Track2FromEMV(tag57 []byte) (string, error) {
	h := strings.ToUpper(hex.EncodeToString(tag57))
	h = strings.TrimSuffix(h, "F")
	s := strings.Replace(h, "D", "=", 1)
	if _, _, _, err := SplitTrack2(s); err != nil {
		return "", err
	}
	return s, nil
}

// SplitTrack2 splits DE35 into the PAN, the expiry date (YYMM) and the
// service code. It checks the layout (PAN of 8 to 19 digits, '=', at least
// 7 digits) and never returns any of it in an error.
func SplitTrack2(s string) (pan, expiry, serviceCode string, err error) {
	i := strings.IndexByte(s, '=')
	bad := func(what string) (string, string, string, error) {
		return "", "", "", fieldErr(FieldTrack2, -1, ErrValue, what)
	}
	switch {
	case len(s) > 37 || firstBad(s, FormatZ) >= 0:
		return bad("not track 2 data")
	case i < 0:
		return bad("no separator")
	case i < 8 || i > 19:
		return bad("PAN length")
	case strings.Count(s, "=") != 1:
		return bad("more than one separator")
	case len(s)-i-1 < 7:
		return bad("expiry date and service code missing")
	}
	if !validYYMM(s[i+1 : i+5]) {
		return bad("expiry date")
	}
	return s[:i], s[i+1 : i+5], s[i+5 : i+8], nil
}
