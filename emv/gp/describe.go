package gp

import "fmt"

// Describe names a GlobalPlatform command APDU for an OTA session trace:
// the command, its parameters and the length of its data, never the data
// (it may hold keys or cardholder data). Commands it does not know are
// shown by their header.
func Describe(capdu []byte) string {
	if len(capdu) < 4 {
		return fmt.Sprintf("short APDU (%d bytes)", len(capdu))
	}
	cla, ins, p1, p2 := capdu[0], capdu[1], capdu[2], capdu[3]
	n := 0
	if len(capdu) > 5 {
		n = int(capdu[4])
		if n == 0 && len(capdu) > 7 {
			n = int(capdu[5])<<8 | int(capdu[6])
		}
	}
	sm := ""
	if cla&0x80 != 0 && (cla&0x0C == 0x04 || (cla&0x40 != 0 && cla&0x20 != 0)) {
		sm = ", secure messaging"
	}
	var s string
	switch ins {
	case InsSelect:
		s = "SELECT"
	case 0x50:
		s = fmt.Sprintf("INITIALIZE UPDATE key version %02X", p1)
	case 0x82:
		s = fmt.Sprintf("EXTERNAL AUTHENTICATE level %02X", p1)
	case InsGetData:
		s = fmt.Sprintf("GET DATA %02X%02X", p1, p2)
	case InsGetStatus:
		s = fmt.Sprintf("GET STATUS P1 %02X", p1)
	case InsInstall:
		s = "INSTALL " + installKind(p1)
	case InsPutKey:
		if p1 == 0 {
			s = "PUT KEY (new key set)"
		} else {
			s = fmt.Sprintf("PUT KEY (replace key version %02X)", p1)
		}
	case InsStoreData:
		s = fmt.Sprintf("STORE DATA block %d", p2)
		if p1&StoreLast != 0 {
			s += ", last"
		}
		if p1&StoreEncMask == StoreEncrypted {
			s += ", enciphered"
		}
		if p1&StoreFormatMask == StoreDGI {
			s += ", DGI"
		}
	case InsSetStatus:
		s = fmt.Sprintf("SET STATUS P1 %02X state %02X", p1, p2)
	case InsDelete:
		s = "DELETE"
	default:
		s = fmt.Sprintf("%02X %02X %02X %02X", cla, ins, p1, p2)
	}
	return fmt.Sprintf("%s (%d bytes of data%s)", s, n, sm)
}

func installKind(p1 byte) string {
	switch p1 &^ 0x80 {
	case InstallForInstall:
		return "[for install]"
	case InstallForInstall | InstallForMakeSelectable:
		return "[for install and make selectable]"
	case InstallForMakeSelectable:
		return "[for make selectable]"
	case InstallForPersonalization:
		return "[for personalization]"
	case InstallForLoad:
		return "[for load]"
	}
	return fmt.Sprintf("P1 %02X", p1)
}
